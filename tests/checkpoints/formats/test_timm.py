"""timm's ViT layout: exports load with ``strict=True`` and give the same features; heads are
dropped."""

import pytest
import timm
import torch
from safetensors.torch import load_file

from mae_plugin.checkpoints import (
    from_core,
    load_checkpoint_file,
    load_mae_weights,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from mae_plugin.models import MaskedViTEncoder
from tests.helpers.checkpoints import save, save_plugin_checkpoint
from tests.helpers.hf import random_mae
from tests.helpers.models import tiny_timm_vit


@pytest.fixture
def src(tmp_path):
    return save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')


def test_timm_export_loads_strict_and_gives_the_same_features(tmp_path):
    torch.manual_seed(0)
    encoder = MaskedViTEncoder().eval()  # ViT-B/16, the shape of timm's vit_base_patch16_224
    state = {'encoder.vit.' + k: v for k, v in encoder.vit.state_dict().items()}
    src = save(tmp_path, 'official_encoder.pth', from_core(state, 'official'))
    convert_checkpoint(src, tmp_path / 'timm.pth', 'timm')
    ref = timm.create_model('vit_base_patch16_224', pretrained=False, num_classes=0).eval()
    ref.load_state_dict(load_checkpoint_file(tmp_path / 'timm.pth'), strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(ref.forward_features(x), encoder(x))


def test_timm_state_with_head_is_read_and_head_dropped(demo_core):
    timm_state = from_core(demo_core, 'timm')
    timm_state.update({'head.weight': torch.zeros(5, 192), 'head.bias': torch.zeros(5)})
    conv = to_core(timm_state)
    assert conv.format == 'timm' and sorted(conv.dropped) == ['head.bias', 'head.weight']


def test_timm_safetensors_loads_strict_into_timm_with_the_same_features(tmp_path, src):
    convert_checkpoint(src, tmp_path / 'vit.safetensors', 'timm')
    with open(tmp_path / 'vit.safetensors', 'rb') as f:
        assert not f.read(16).startswith(b'PK')  # a safetensors header, not a torch zip
    vit = tiny_timm_vit(32).eval()
    vit.load_state_dict(load_file(tmp_path / 'vit.safetensors'), strict=True)
    images = torch.randn(2, 3, 32, 32)
    mae = random_mae()
    with torch.no_grad():
        assert torch.equal(vit.forward_features(images), mae.encoder(images))
    report = load_mae_weights(random_mae(seed=7), tmp_path / 'vit.safetensors')
    assert report.format == 'timm' and report.left_new  # encoder only: decoder stays fresh
