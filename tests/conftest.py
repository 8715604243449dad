import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def tiny_mae(img_size: int = 32, patch_size: int = 8, norm_pix: bool = True, **kw):
    """A depth-2 MAE small enough for every unit test."""
    from mae_plugin.models import build_mae

    return build_mae(
        'tiny',
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=48,
        depth=2,
        num_heads=3,
        norm_pix=norm_pix,
        decoder=dict(embed_dim=32, depth=2, num_heads=4),
        **kw,
    )


@pytest.fixture(autouse=True)
def environment_restored():
    """Each test leaves ``os.environ`` as it found it. ``tools/train.py``'s ``main()`` run in
    this process sets ``LOCAL_RANK`` (as OpenMMLab's tools do); a later DDP run started by a
    test inherits it, and Lightning then takes itself for an already-launched rank and never
    starts the second process (rank 0 waits at the rendezvous until its timeout)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def mae():
    torch.manual_seed(0)
    return tiny_mae()


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """scikit-image's photographs written as an image folder (real images, no download)."""
    from mae_plugin.demo_data import prepare_demo_images, prepare_knn_split

    root = tmp_path_factory.mktemp('demo')
    prepare_demo_images(str(root))
    prepare_knn_split(str(root))
    return str(root)


def save_plugin_checkpoint(mae, path):
    """Write ``mae`` as this plugin's MMEngine checkpoint (``state_dict`` with ``mae.*``)."""
    torch.save(
        {'meta': {}, 'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}}, path
    )
    return str(path)


@pytest.fixture(scope='session')
def pretrained_64(tmp_path_factory):
    """(path, mae): a plugin checkpoint of a depth-2, 48-dim MAE at 64 px, patch 8 (the input
    of the demo transfer configs)."""
    torch.manual_seed(0)
    mae = tiny_mae(img_size=64, patch_size=8)
    return save_plugin_checkpoint(mae, tmp_path_factory.mktemp('pretrain') / 'iter_1.pth'), mae
