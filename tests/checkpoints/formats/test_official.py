"""The official release layout (facebookresearch/mae): round trips, training checkpoints, and
keys with no place in an MAE refused."""

import argparse

import pytest
import torch

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    UnknownKeyError,
    detect_format,
    from_core,
    load_checkpoint_file,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, save


def test_official_to_plugin_to_official_is_exact(tmp_path, demo_core):
    official = from_core(demo_core, 'official')
    src = save(tmp_path, 'official.pth', official)
    convert_checkpoint(src, tmp_path / 'plugin.pth', 'plugin')
    conv = convert_checkpoint(tmp_path / 'plugin.pth', tmp_path / 'back.pth', 'official')
    back = load_checkpoint_file(tmp_path / 'back.pth')['model']
    assert back.keys() == official['model'].keys()
    for key, value in official['model'].items():
        assert torch.equal(back[key], value), key
    assert conv.format == 'plugin' and detect_format(load_checkpoint_file(src)) == 'official'


def test_official_training_checkpoint_is_read_and_its_state_reported(tmp_path, demo_core):
    official = from_core(demo_core, 'official')
    official.update(
        optimizer={'state': {}, 'param_groups': []},
        epoch=799,
        scaler={'scale': 65536.0},
        args=argparse.Namespace(mask_ratio=0.75),
    )
    conv = convert_checkpoint(
        save(tmp_path, 'checkpoint-799.pth', official), tmp_path / 'out.pth', 'plugin'
    )
    assert {k for k, why in conv.dropped.items() if why == 'training state'} == {
        'optimizer',
        'epoch',
        'scaler',
        'args',
    }
    assert 'dropped (training state)' in conv.report()


def test_unknown_key_is_refused_not_dropped(tmp_path, demo_core):
    official = from_core(demo_core, 'official')
    official['model']['dist_token'] = torch.zeros(1, 1, 192)  # no place in an MAE at all
    with pytest.raises(UnknownKeyError, match='dist_token'):
        to_core(official)
    del official['model']['dist_token']
    official['model']['blocks.0.attn.gamma'] = torch.ones(192)  # a block key MAE lacks
    src = save(tmp_path, 'layer_scale.pth', official)
    with pytest.raises(ValueError, match='unexpected: encoder.vit.blocks.0.attn.gamma'):
        convert_checkpoint(src, tmp_path / 'out.pth', 'timm')
    with pytest.raises(ValueError, match='encoder.vit.blocks.0.attn.gamma'):
        init_model(DEMO_CFG, src)
