import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def tiny_mae(img_size: int = 32, patch_size: int = 8, norm_pix: bool = True, **kw):
    """A depth-2 MAE small enough for every unit test."""
    from mae_plugin.models import build_mae
    return build_mae('tiny', img_size=img_size, patch_size=patch_size, embed_dim=48, depth=2,
                     num_heads=3, norm_pix=norm_pix,
                     decoder=dict(embed_dim=32, depth=2, num_heads=4), **kw)


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
