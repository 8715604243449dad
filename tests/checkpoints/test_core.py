"""The canonical key layout (``checkpoints/core.py``): core decoder names are the official MAE
``decoder_*`` names without their prefix, timm's ViT keys are told from a classifier's, the core
state splits into a timm ViT's state and the decoder's, and the conversion report accounts for
every key."""

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.checkpoints.core import (
    Conversion,
    UnknownKeyError,
    core_decoder_name,
    drop_wrapper_entries,
    inner_weights,
    is_timm_vit_key,
    official_decoder_name,
    split_core,
)
from tests.helpers.models import SMALL_DECODER, tiny_mae

# The decoder's keys in the official models_mae.py (MaskedAutoencoderViT, decoder depth 1),
# written out: decoder_embed, mask_token, decoder_pos_embed, decoder_blocks (timm Blocks),
# decoder_norm, decoder_pred.
BLOCK = [
    f'{layer}.{kind}'
    for layer in ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2')
    for kind in ('weight', 'bias')
]
OFFICIAL_DECODER = {
    'mask_token',
    'decoder_pos_embed',
    'decoder_embed.weight',
    'decoder_embed.bias',
    *(f'decoder_blocks.0.{name}' for name in BLOCK),
    'decoder_norm.weight',
    'decoder_norm.bias',
    'decoder_pred.weight',
    'decoder_pred.bias',
}


def test_core_decoder_names_are_the_official_ones_without_their_prefix():
    core = tiny_mae(decoder=SMALL_DECODER).decoder.state_dict()
    assert {official_decoder_name(name) for name in core} == OFFICIAL_DECODER
    assert {core_decoder_name(name) for name in OFFICIAL_DECODER} == set(core)
    for name in ('cls_token', 'pos_embed', 'blocks.0.norm1.weight', 'norm.weight', 'head.bias'):
        assert core_decoder_name(name) is None  # the official encoder's keys


def test_every_tensor_of_a_timm_vit_is_a_vit_key_and_the_classifier_is_not():
    vit = VisionTransformer(
        img_size=16,
        patch_size=8,
        embed_dim=8,
        depth=1,
        num_heads=2,
        num_classes=3,
        global_pool='avg',  # a fc_norm
        reg_tokens=2,
        pre_norm=True,
        init_values=1e-5,  # layer scale: blocks.N.ls1.gamma
    )
    keys = set(vit.state_dict())
    head = {k for k in keys if k.startswith(('head.', 'fc_norm.'))}
    assert head == {'head.weight', 'head.bias', 'fc_norm.weight', 'fc_norm.bias'}
    assert {k for k in keys if not is_timm_vit_key(k)} == head
    for key in ('decoder_embed.weight', 'mask_token', 'dist_token', 'pre_logits.fc.weight'):
        assert not is_timm_vit_key(key)


def test_the_core_state_splits_into_a_timm_vit_state_and_the_decoder_state():
    mae = tiny_mae()
    encoder, decoder = split_core(mae.state_dict())
    timm_vit = VisionTransformer(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
    )
    timm_vit.load_state_dict(encoder, strict=True)
    mae.decoder.load_state_dict(decoder, strict=True)
    assert torch.equal(timm_vit.cls_token, mae.encoder.vit.cls_token)
    with pytest.raises(UnknownKeyError, match=r"keys outside encoder and decoder: \['loss.w'\]"):
        split_core({**mae.state_dict(), 'loss.w': torch.zeros(1)})


def test_an_unknown_key_error_shows_its_message_as_it_is():
    err = UnknownKeyError("no place for key 'head.weight'")
    assert isinstance(err, KeyError)
    assert str(err) == "no place for key 'head.weight'"  # a KeyError's repr would quote it


@pytest.mark.parametrize('key', ['state_dict', 'model'])
def test_weights_inside_a_training_checkpoint_and_the_entries_beside_them(key):
    weights = {'w': torch.zeros(1)}
    ckpt = {key: weights, 'optimizer': {'state': {}}, 'epoch': 3, 'meta': {'seed': 0}}
    assert inner_weights(ckpt, key) is weights
    conv = Conversion('x')
    drop_wrapper_entries(conv, ckpt, weights)
    assert conv.dropped == dict.fromkeys(['optimizer', 'epoch', 'meta'], 'training state')
    flat = {'w': torch.zeros(1), key: 'not a dict'}
    assert inner_weights(flat, key) is flat  # weights saved flat
    conv = Conversion('x')
    drop_wrapper_entries(conv, flat, flat)
    assert conv.dropped == {}


def test_the_report_counts_the_used_keys_groups_the_dropped_by_why_and_lists_the_rest():
    conv = Conversion('official')
    conv.take('cls_token', 'encoder.vit.cls_token', torch.zeros(1))
    conv.take('decoder_pred.weight', 'decoder.pred.weight', torch.ones(1))
    for i in range(7):
        conv.drop(f'head.{i}', 'classifier head')
    for key in ('epoch', 'iter', 'meta', 'optimizer', 'param_schedulers', 'message_hub'):
        conv.drop(key, 'training state')  # 6 keys: all shown
    conv.resampled.append('encoder.vit.pos_embed: 14x14 -> 16x16')
    conv.notes.append('norm_pix_loss = True')
    assert conv.state == {
        'encoder.vit.cls_token': torch.zeros(1),
        'decoder.pred.weight': torch.ones(1),
    }
    assert conv.used == ['cls_token', 'decoder_pred.weight']
    assert conv.report().splitlines() == [
        'format: official',
        'used: 2 tensors',
        'dropped (classifier head): head.0, head.1, head.2, head.3, head.4, head.5, ... (7 in all)',
        'dropped (training state): epoch, iter, meta, optimizer, param_schedulers, message_hub',
        'resampled: encoder.vit.pos_embed: 14x14 -> 16x16',
        'note: norm_pix_loss = True',
    ]
