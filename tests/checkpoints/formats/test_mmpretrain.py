"""mmpretrain / mmselfsup 1.x MAE checkpoints: every key of its names table lands where it must."""

import pytest
import torch

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    from_core,
    load_checkpoint_file,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, save

# mmpretrain's MAE state dict, names written out from its source (MAEViT = mmpretrain's
# VisionTransformer: patch_embed.projection, layers.N (TransformerEncoderLayer: ln1, attn.qkv,
# attn.proj, ln2, mmcv FFN ffn.layers.0.0 / ffn.layers.1), final norm ln1; MAEPretrainDecoder:
# decoder_embed, mask_token, decoder_pos_embed, decoder_blocks.N, its final norm built with
# build_norm_layer(postfix=1) hence 'ln1' (``decoder_norm`` is a property, not a key),
# decoder_pred; MAEPretrainHead holds no weights) -> the timm / core key that must get the value.
MMPRETRAIN_TOP = {
    'backbone.cls_token': 'encoder.vit.cls_token',
    'backbone.pos_embed': 'encoder.vit.pos_embed',
    'backbone.patch_embed.projection.weight': 'encoder.vit.patch_embed.proj.weight',
    'backbone.patch_embed.projection.bias': 'encoder.vit.patch_embed.proj.bias',
    'backbone.ln1.weight': 'encoder.vit.norm.weight',
    'backbone.ln1.bias': 'encoder.vit.norm.bias',
    'neck.mask_token': 'decoder.mask_token',
    'neck.decoder_pos_embed': 'decoder.pos_embed',
    'neck.decoder_embed.weight': 'decoder.embed.weight',
    'neck.decoder_embed.bias': 'decoder.embed.bias',
    'neck.ln1.weight': 'decoder.norm.weight',
    'neck.ln1.bias': 'decoder.norm.bias',
    'neck.decoder_pred.weight': 'decoder.pred.weight',
    'neck.decoder_pred.bias': 'decoder.pred.bias',
}


MMPRETRAIN_LAYER = {  # TransformerEncoderLayer -> timm Block
    'ln1.weight': 'norm1.weight',
    'ln1.bias': 'norm1.bias',
    'attn.qkv.weight': 'attn.qkv.weight',
    'attn.qkv.bias': 'attn.qkv.bias',
    'attn.proj.weight': 'attn.proj.weight',
    'attn.proj.bias': 'attn.proj.bias',
    'ln2.weight': 'norm2.weight',
    'ln2.bias': 'norm2.bias',
    'ffn.layers.0.0.weight': 'mlp.fc1.weight',
    'ffn.layers.0.0.bias': 'mlp.fc1.bias',
    'ffn.layers.1.weight': 'mlp.fc2.weight',
    'ffn.layers.1.bias': 'mlp.fc2.bias',
}


def mmpretrain_names(depth, decoder_depth):
    """{mmpretrain key: core key} of an MAE of these depths."""
    names = dict(MMPRETRAIN_TOP)
    for i in range(depth):
        names.update(
            {
                f'backbone.layers.{i}.{k}': f'encoder.vit.blocks.{i}.{v}'
                for k, v in MMPRETRAIN_LAYER.items()
            }
        )
    for i in range(decoder_depth):
        names.update(
            {
                f'neck.decoder_blocks.{i}.{k}': f'decoder.blocks.{i}.{v}'
                for k, v in MMPRETRAIN_LAYER.items()
            }
        )
    return names


def test_mmpretrain_import(tmp_path, demo_core):
    names = mmpretrain_names(depth=6, decoder_depth=2)  # the demo MAE
    assert set(names.values()) == set(demo_core)  # the table covers every tensor of an MAE
    torch.manual_seed(0)
    values = {mm: torch.randn_like(demo_core[core]) for mm, core in names.items()}
    ckpt = {
        'meta': {'mmengine_version': '0.10.7'},
        'state_dict': {**values, 'data_preprocessor.mean': torch.zeros(3, 1, 1)},
    }
    conv = to_core(ckpt)
    assert conv.format == 'mmpretrain' and sorted(conv.used) == sorted(names)
    assert sorted(conv.dropped) == ['data_preprocessor.mean', 'meta']
    for mm, core in names.items():
        assert torch.equal(conv.state[core], values[mm]), (mm, core)
    model = init_model(DEMO_CFG, save(tmp_path, 'mmpretrain.pth', ckpt))
    assert model.load_report.format == 'mmpretrain'
    for mm, core in names.items():
        assert torch.equal(model.mae.state_dict()[core], values[mm]), (mm, core)
    convert_checkpoint(tmp_path / 'mmpretrain.pth', tmp_path / 'timm.pth', 'timm')
    timm_state = load_checkpoint_file(tmp_path / 'timm.pth')
    encoder = {
        mm: core[len('encoder.vit.') :]
        for mm, core in names.items()
        if core.startswith('encoder.vit.')
    }
    assert set(timm_state) == set(encoder.values())
    for mm, timm_key in encoder.items():
        assert torch.equal(timm_state[timm_key], values[mm]), (mm, timm_key)
    with pytest.raises(ValueError, match='cannot write'):
        from_core(demo_core, 'mmpretrain')
