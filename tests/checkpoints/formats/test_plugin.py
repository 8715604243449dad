"""The plugin's own format: weights under ``mae.``, every other key accounted for, the position
grid and the model sizes read from ``meta`` and written back, the training state kept only when
asked."""

import pytest
import torch

from mae_plugin.checkpoints.core import UnknownKeyError
from mae_plugin.checkpoints.formats import plugin
from mae_plugin.checkpoints.model_meta import model_meta
from tests.helpers.models import tiny_mae


def checkpoint(mae, **meta):
    """A plugin checkpoint as training writes it: weights, preprocessor buffers, training state."""
    state = {f'mae.{k}': v for k, v in mae.state_dict().items()}
    state['data_preprocessor.mean'] = torch.zeros(3)
    return dict(meta=meta, state_dict=state, optimizer={'state': {}}, message_hub={'x': 1})


def test_to_core_strips_the_prefix_and_accounts_for_every_other_key():
    mae = tiny_mae()
    conv = plugin.to_core(checkpoint(mae, mae_model=model_meta(mae)))
    assert conv.state.keys() == mae.state_dict().keys()
    assert all(torch.equal(conv.state[k], v) for k, v in mae.state_dict().items())
    assert sorted(conv.used) == sorted(f'mae.{k}' for k in mae.state_dict())
    assert conv.dropped == {
        'data_preprocessor.mean': 'data preprocessor buffers',
        'meta': 'training state',
        'optimizer': 'training state',
        'message_hub': 'training state',
    }
    assert conv.extras['optimizer'] == {'state': {}} and conv.grid == (4, 4)  # 32 px / 8
    assert conv.extras['hf_config']['num_attention_heads'] == 3


def test_a_key_with_no_place_is_an_error_naming_it():
    ckpt = checkpoint(tiny_mae())
    ckpt['state_dict']['ema.encoder.vit.cls_token'] = torch.zeros(1)
    with pytest.raises(UnknownKeyError, match="no place for key 'ema.encoder.vit.cls_token'"):
        plugin.to_core(ckpt)


def test_detect_needs_weights_under_the_prefix():
    assert plugin.detect(checkpoint(tiny_mae()))
    assert not plugin.detect({'state_dict': {'backbone.cls_token': torch.zeros(1)}})
    assert not plugin.detect({'model': {'mae.cls_token': torch.zeros(1)}})


def test_from_core_writes_the_new_grid_and_image_size_and_drops_the_stale_grid():
    mae = tiny_mae()
    extras = dict(meta=dict(pos_embed_grid=[4, 4], mae_model=model_meta(mae), seed=3))
    out = plugin.from_core(mae.state_dict(), extras, grid=(6, 5))
    assert out['meta']['pos_embed_grid'] == [6, 5]
    assert out['meta']['mae_model']['img_size'] == [48, 40]  # grid x patch 8
    assert out['meta']['seed'] == 3 and extras['meta']['pos_embed_grid'] == [4, 4]  # a copy
    assert 'pos_embed_grid' not in plugin.from_core(mae.state_dict(), extras)['meta']


def test_training_state_is_kept_only_when_asked_and_the_weights_go_round_trip():
    mae = tiny_mae()
    conv = plugin.to_core(checkpoint(mae))
    bare = plugin.from_core(conv.state, conv.extras)
    assert set(bare) == {'meta', 'state_dict'}
    kept = plugin.from_core(conv.state, conv.extras, keep_optimizer=True)
    assert kept['optimizer'] == {'state': {}} and kept['message_hub'] == {'x': 1}
    again = plugin.to_core(bare)
    assert again.state.keys() == mae.state_dict().keys()
    assert all(torch.equal(again.state[k], v) for k, v in mae.state_dict().items())
