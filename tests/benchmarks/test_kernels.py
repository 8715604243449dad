"""benchmarks/kernels.py: the attention shapes the ``--attention`` mode times, from a config."""

import os

from benchmarks.kernels import attention_shapes

CONFIGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'configs'
)


def test_attention_shapes_come_from_the_config():
    assert attention_shapes(os.path.join(CONFIGS, 'mae_vit-b_800e.py')) == {
        'encoder': (12, 50, 64),
        'decoder': (16, 197, 32),
    }
    # demo: 64 px / 8 px patches = 64 patches, 16 visible; 192 dims / 3 heads, 128 / 4
    assert attention_shapes(os.path.join(CONFIGS, 'mae_vit-t_demo.py')) == {
        'encoder': (3, 17, 64),
        'decoder': (4, 65, 32),
    }
