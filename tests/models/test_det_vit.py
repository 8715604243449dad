"""The ViTDet backbone and simple feature pyramid (pure torch + timm)."""

import pytest
import torch
import torch.nn.functional as F

from mae_plugin.checkpoints.load import load_encoder_weights
from mae_plugin.models.det_vit import GLOBAL_BLOCKS, SimpleFeaturePyramid, ViTDetBackbone
from mae_plugin.models.layer_decay import layer_decay_param_groups
from tests.helpers.models import tiny_mae

SMALL = dict(
    img_size=64,
    patch_size=8,
    embed_dim=48,
    depth=4,
    num_heads=3,
    window_size=4,
    global_blocks=(1, 3),
)


def backbone(**kw):
    torch.manual_seed(0)
    return ViTDetBackbone(**{**SMALL, **kw}).eval()


def test_window_and_global_attention_placement():
    assert GLOBAL_BLOCKS == {12: (2, 5, 8, 11), 24: (5, 11, 17, 23), 32: (7, 15, 23, 31)}
    model = backbone()
    assert [b.window_size for b in model.vit.blocks] == [4, 0, 4, 0]  # 0 = global
    full = ViTDetBackbone(img_size=224, depth=12, num_heads=12, drop_path_rate=0.1)
    assert [i for i, b in enumerate(full.vit.blocks) if b.window_size == 0] == [2, 5, 8, 11]
    assert {b.window_size for b in full.vit.blocks} == {0, 14}
    rates = [
        b.drop_path1.drop_prob if hasattr(b.drop_path1, 'drop_prob') else 0.0
        for b in full.vit.blocks
    ]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.1)  # linear stochastic depth
    with pytest.raises(ValueError, match='global blocks'):
        ViTDetBackbone(img_size=64, patch_size=8, embed_dim=48, depth=5, num_heads=3)


def test_relative_positions_are_zero_and_sized_per_attention_span():
    model = backbone()
    windowed, global_ = model.vit.blocks[0].attn, model.vit.blocks[1].attn
    assert windowed.rel_pos_h.shape == (2 * 4 - 1, 16)  # window 4, head dim 16
    assert global_.rel_pos_h.shape == (2 * 8 - 1, 16)  # the 8 x 8 grid
    assert all(torch.count_nonzero(b.attn.rel_pos_h) == 0 for b in model.vit.blocks)


def test_relative_positions_resize_with_the_input():
    model = backbone()
    with torch.no_grad():
        for block in model.vit.blocks:
            block.attn.rel_pos_h.normal_()
            block.attn.rel_pos_w.normal_()
    out = model(torch.randn(1, 3, 96, 80))  # a 12 x 10 grid: global tables are interpolated
    assert out.shape == (1, 48, 12, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize('size', [(60, 57), (90, 75)])
def test_input_off_the_patch_grid_is_padded_right_and_bottom(size):
    """Zeros right and bottom up to the patch grid, as the segmentation backbone (mmdet's
    preprocessors usually pad to 32 already); (60, 57) pads to the table's 8 x 8 grid."""
    model = backbone()
    images = torch.randn(1, 3, *size)
    grid = (-(-size[0] // 8), -(-size[1] // 8))
    padded = F.pad(images, (0, 8 * grid[1] - size[1], 0, 8 * grid[0] - size[0]))
    out = model(images)
    assert out.shape == (1, 48, *grid)
    torch.testing.assert_close(out, model(padded), rtol=0, atol=0)


def test_no_final_norm_and_map_output():
    model = backbone()
    assert isinstance(model.vit.neck, torch.nn.Identity)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 48, 8, 8)


def test_pyramid_strides_and_shapes():
    neck = SimpleFeaturePyramid(in_channels=48, out_channels=16, num_outs=5)
    outs = neck(torch.randn(2, 48, 8, 8))  # stride 16 of a 128-px input
    assert [tuple(o.shape) for o in outs] == [
        (2, 16, 32, 32),
        (2, 16, 16, 16),
        (2, 16, 8, 8),
        (2, 16, 4, 4),
        (2, 16, 2, 2),
    ]  # strides 4-64
    assert len(SimpleFeaturePyramid(48, 16, num_outs=4)(torch.randn(1, 48, 8, 8))) == 4
    # a patch-8 backbone (stride 8) reaches the same strides: 16 x 16 map of a 128-px input
    outs = SimpleFeaturePyramid(48, 16, in_stride=8)(torch.randn(1, 48, 16, 16))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4, 2]


def test_mae_weights_load_with_a_2d_position_table():
    mae = tiny_mae(img_size=32, patch_size=8)  # 4 x 4 grid, 2 blocks
    model = backbone(depth=2, global_blocks=(1,))
    report = load_encoder_weights(
        model.vit,
        {'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}},
        model.grid_size,
        new_ok=model.new_keys,
        unused_ok=model.unused_keys,
    )
    assert model.vit.pos_embed.shape == (1, 8, 8, 48)
    torch.testing.assert_close(
        model.vit.blocks[0].attn.qkv.weight, mae.encoder.vit.blocks[0].attn.qkv.weight
    )
    assert {'encoder.vit.cls_token', 'encoder.vit.norm.weight'} <= set(report.dropped)
    assert sorted(k.split('.', 2)[2] for k in report.left_new) == [
        'attn.rel_pos_h',
        'attn.rel_pos_h',
        'attn.rel_pos_w',
        'attn.rel_pos_w',
    ]


def test_layer_decay_groups_of_the_backbone():
    model = backbone()
    groups = layer_decay_param_groups(model, 1.0, 0.1, 0.7)
    for i, block in enumerate(model.vit.blocks):
        group = next(g for g in groups if any(p is block.attn.rel_pos_h for p in g['params']))
        assert group['lr'] == pytest.approx(0.7 ** (4 - i)) and group['weight_decay'] == 0.0
    pos = next(g for g in groups if any(p is model.vit.pos_embed for p in g['params']))
    assert pos['lr'] == pytest.approx(0.7**5) and pos['weight_decay'] == 0.0


def test_patch_filter_is_resampled_for_vitdet_huge():
    mae = tiny_mae(img_size=56, patch_size=14)  # MAE-H style 14 x 14 patches, 4 x 4 grid
    model = backbone(depth=2, global_blocks=(1,), patch_size=16, img_size=64)
    report = load_encoder_weights(
        model.vit,
        {'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}},
        model.grid_size,
        new_ok=model.new_keys,
        unused_ok=model.unused_keys,
    )
    assert model.vit.patch_embed.proj.weight.shape[-2:] == (16, 16)
    assert any('patch_embed' in r and '(14, 14) -> (16, 16)' in r for r in report.resampled)
    # FlexiViT resampling keeps the response to a constant image patch
    flat = torch.ones(1, 3, 14, 14), torch.ones(1, 3, 16, 16)
    torch.testing.assert_close(
        torch.nn.functional.conv2d(flat[1], model.vit.patch_embed.proj.weight),
        torch.nn.functional.conv2d(flat[0], mae.encoder.vit.patch_embed.proj.weight),
        rtol=1e-3,
        atol=1e-3,
    )
