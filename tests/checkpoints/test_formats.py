"""Round trips and cross-format equalities of the checkpoint converters."""

import argparse
import os
import subprocess
import sys
import warnings

import pytest
import timm
import torch
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    UnknownKeyError,
    detect_format,
    from_core,
    load_checkpoint_file,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from mae_plugin.models import MaskedViTEncoder
from tests.conftest import ROOT

DEMO_CFG = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
TINY = dict(img_size=64, patch_size=8, embed_dim=192, depth=6, num_heads=3)  # the demo encoder


@pytest.fixture(scope='module')
def demo_core():
    torch.manual_seed(3)
    return init_model(DEMO_CFG).mae.state_dict()


def save(tmp_path, name, obj):
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


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


def lightly_mae(head_classes=0):
    """lightly's MAE example wiring (current layout: decoder_embed,
    MaskedVisionTransformerDecoderTIMM, prediction_head) at the demo's sizes."""
    from lightly.models.modules import (
        MaskedVisionTransformerDecoderTIMM,
        MaskedVisionTransformerTIMM,
    )

    vit = VisionTransformer(num_classes=head_classes, **TINY)
    return torch.nn.ModuleDict(
        dict(
            backbone=MaskedVisionTransformerTIMM(vit=vit),
            decoder_embed=torch.nn.Linear(192, 128),
            decoder=MaskedVisionTransformerDecoderTIMM(
                num_patches=64, embed_dim=128, depth=2, num_heads=4
            ),
            prediction_head=torch.nn.Linear(128, 8 * 8 * 3),
        )
    ).eval()


def deprecated_lightly_mae():
    """The layout of lightly's MAEDecoderTIMM (deprecated in 1.6, removed in 1.7)."""
    from lightly.models.modules import MAEDecoderTIMM, MaskedVisionTransformerTIMM

    vit = VisionTransformer(num_classes=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        decoder = MAEDecoderTIMM(
            num_patches=64,
            patch_size=8,
            embed_dim=192,
            decoder_embed_dim=128,
            decoder_depth=2,
            decoder_num_heads=4,
        )
    return torch.nn.ModuleDict(
        dict(backbone=MaskedVisionTransformerTIMM(vit=vit), decoder=decoder)
    ).eval()


def test_lightly_export_and_import(tmp_path, demo_core):
    src = save(tmp_path, 'plugin.pth', from_core(demo_core, 'plugin'))
    conv = convert_checkpoint(src, tmp_path / 'lightly.pth', 'lightly', lightly_head_classes=0)
    assert any('backbone.mask_token written as zeros' in n for n in conv.notes)
    model = lightly_mae()
    model.load_state_dict(load_checkpoint_file(tmp_path / 'lightly.pth'), strict=True)
    ours = init_model(DEMO_CFG, src)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model['backbone'].encode(x), ours.mae.encoder(x))
    # the default keeps the 1000-class head of lightly's example (timm vit_*_224())
    convert_checkpoint(src, tmp_path / 'head.pth', 'lightly')
    lightly_mae(1000).load_state_dict(load_checkpoint_file(tmp_path / 'head.pth'), strict=True)
    with pytest.raises(ValueError, match='only applies to --to lightly'):
        convert_checkpoint(src, tmp_path / 'x.pth', 'timm', lightly_head_classes=0)
    # and back: state dicts written by lightly itself, in a Lightning-style wrapper, in both
    # decoder layouts (the deprecated one from the same weights)
    deprecated = deprecated_lightly_mae()
    old = from_core(demo_core, 'official')['model']
    deprecated.load_state_dict(
        {
            **{
                f'backbone.vit.{k}': v
                for k, v in old.items()
                if not k.startswith(('decoder', 'mask'))
            },
            'backbone.mask_token': torch.zeros(1, 1, 192),
            **{f'decoder.{k}': v for k, v in old.items() if k.startswith(('decoder', 'mask'))},
        },
        strict=True,
    )
    for module in (lightly_mae(1000), deprecated):
        if module is not deprecated:
            module.load_state_dict(load_checkpoint_file(tmp_path / 'head.pth'), strict=True)
        conv = to_core({'state_dict': module.state_dict(), 'epoch': 3})
        assert conv.format == 'lightly' and 'backbone.mask_token' in conv.dropped
        assert conv.state.keys() == demo_core.keys()
        for key, value in demo_core.items():
            assert torch.equal(conv.state[key], value), key
    assert conv.dropped['epoch'] == 'training state'
    mixed = {**lightly_mae().state_dict(), 'decoder.decoder_pred.weight': torch.zeros(1)}
    with pytest.raises(UnknownKeyError, match='mixes the MAEDecoderTIMM layout'):
        to_core(mixed)


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


def test_resampling_to_a_larger_and_a_non_square_grid(tmp_path, demo_core):
    src = save(tmp_path, 'plugin.pth', from_core(demo_core, 'plugin'))
    conv = convert_checkpoint(src, tmp_path / 'rect.pth', 'timm', img_size=(96, 64))
    table = load_checkpoint_file(tmp_path / 'rect.pth')['pos_embed']
    assert table.shape == (1, 1 + 12 * 8, 192)
    assert any('8x8 -> 12x8' in r for r in conv.resampled)
    assert torch.equal(table[:, 0], demo_core['encoder.vit.pos_embed'][:, 0])  # cls slot kept
    # and when loading into a model pretrained at a larger size
    model = init_model(DEMO_CFG, src, cfg_options={'model.encoder.img_size': 128})
    report = model.load_report
    assert model.mae.encoder.vit.pos_embed.shape == (1, 1 + 16 * 16, 192)
    assert any('encoder.vit.pos_embed: grid 8x8 -> 16x16' in r for r in report.resampled)
    assert 'resampled' in report.summary()


def test_convert_tool_prints_a_report(tmp_path, demo_core):
    src = save(tmp_path, 'official.pth', from_core(demo_core, 'official'))
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, 'tools', 'convert_checkpoint.py'),
            src,
            str(tmp_path / 'timm.pth'),
            '--to',
            'timm',
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert 'format: official' in out and 'MAE decoder, timm has no place for it' in out
    assert 'wrote' in out and os.path.isfile(tmp_path / 'timm.pth')


def test_conversion_checks_every_shape(tmp_path, demo_core):
    official = from_core(demo_core, 'official')
    official['model']['blocks.2.mlp.fc2.weight'] = torch.zeros(192, 100)
    del official['model']['decoder_blocks.1.norm1.bias']
    src = save(tmp_path, 'broken.pth', official)
    with pytest.raises(ValueError) as err:
        convert_checkpoint(src, tmp_path / 'out.pth', 'plugin')
    text = str(err.value)
    assert 'encoder.vit.blocks.2.mlp.fc2.weight' in text and 'decoder.blocks.1.norm1.bias' in text
    assert not os.path.exists(tmp_path / 'out.pth')  # nothing written
