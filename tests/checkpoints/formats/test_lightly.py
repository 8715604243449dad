"""lightly's MAE example in both decoder layouts, bare or in a Lightning .ckpt; and the
benchmark's lightly peer (lightly's current example) reads as ``lightly`` and scores as the
plugin."""

import warnings

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from benchmarks.peers import build_peer
from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    UnknownKeyError,
    from_core,
    load_checkpoint_file,
    load_mae_weights,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, save
from tests.helpers.models import tiny_mae

TINY = dict(img_size=64, patch_size=8, embed_dim=192, depth=6, num_heads=3)  # the demo encoder


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


# the benchmark peer's sizes
PEER_ENCODER = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)
PEER_DECODER = dict(embed_dim=32, depth=2, num_heads=4)


def test_the_lightly_peer_is_the_current_example_and_scores_as_the_plugin():
    torch.manual_seed(0)
    mae = tiny_mae()  # 32 px, patch 8, the sizes above, norm-pix
    with warnings.catch_warnings():
        warnings.simplefilter('error', FutureWarning)  # nothing deprecated (MAEDecoderTIMM)
        model, step_loss = build_peer('lightly', mae, PEER_ENCODER, PEER_DECODER)
    state = model.state_dict()
    assert 'prediction_head.weight' in state and 'decoder.blocks.0.attn.qkv.weight' in state
    assert not any(k.startswith('decoder.decoder_') for k in state)
    conv = to_core(state)
    assert conv.format == 'lightly' and sorted(conv.dropped) == ['backbone.mask_token']
    load_mae_weights(mae, state)

    images = torch.randn(2, 3, 32, 32)
    torch.manual_seed(1)
    with torch.no_grad():
        loss = step_loss(images)
    # the mask lightly's random_token_mask drew from the same seed: argsort of noise, cls first
    torch.manual_seed(1)
    noise = torch.rand(2, 17)
    noise[:, 0] = -1
    idx_mask = torch.argsort(noise, dim=1)[:, 1 + 4 :]
    mask = torch.zeros(2, 16, dtype=torch.bool).scatter_(1, idx_mask - 1, True)
    with torch.no_grad():
        torch.testing.assert_close(mae.eval()(images, mask).loss, loss, rtol=1e-5, atol=1e-6)
