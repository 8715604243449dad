"""The segmentation backbone: BEiT relative position bias, resizing, features, loading."""

import pytest
import torch
import torch.nn.functional as F
from timm.layers import resample_abs_pos_embed
from timm.models.beit import RelativePositionBias as TimmRelativePositionBias

from mae_plugin.checkpoints.load import load_encoder_weights
from mae_plugin.models.layer_decay import layer_decay_param_groups
from mae_plugin.models.seg_vit import RelativePositionBias, RelPosViTBackbone
from tests.helpers.models import tiny_mae

SMALL = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, out_indices=(0, 1))


def backbone(**kw):
    torch.manual_seed(0)
    return RelPosViTBackbone(**{**SMALL, **kw}).eval()


def test_bias_is_zero_at_init_and_indexes_like_timm_beit():
    ours = RelativePositionBias((4, 5), num_heads=3)
    assert ours.relative_position_bias_table.shape == (7 * 9 + 3, 3)
    assert torch.count_nonzero(ours()) == 0 and ours().shape == (3, 21, 21)
    timm_bias = TimmRelativePositionBias((4, 5), num_heads=3)
    table = torch.randn_like(ours.relative_position_bias_table)
    with torch.no_grad():
        ours.relative_position_bias_table.copy_(table)
        timm_bias.relative_position_bias_table.copy_(table)
    torch.testing.assert_close(ours(), timm_bias())


def test_bias_resizes_with_the_grid():
    bias = RelativePositionBias((4, 4), num_heads=2)
    with torch.no_grad():
        bias.relative_position_bias_table[:-3] = 0.5  # every patch offset the same
        bias.relative_position_bias_table[-3:] = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    torch.testing.assert_close(bias((4, 4)), bias())
    resized = bias((6, 3))
    assert resized.shape == (2, 19, 19)
    torch.testing.assert_close(resized[:, 1:, 1:], torch.full((2, 18, 18), 0.5))  # interpolated
    torch.testing.assert_close(resized[:, 0, 0], torch.tensor([5.0, 6.0]))  # cls entries kept
    torch.testing.assert_close(resized[:, 0, 1:], torch.tensor([1.0, 2.0])[:, None].expand(2, 18))


def test_zero_bias_starts_from_the_plain_vit():
    model = backbone()
    images = torch.randn(2, 3, 32, 32)
    feats = model(images)
    plain = model.vit.forward_intermediates(
        images, indices=[0, 1], norm=False, output_fmt='NCHW', intermediates_only=True
    )
    for ours, ref in zip(feats, plain, strict=True):
        torch.testing.assert_close(ours, ref)


def test_bias_enters_attention_as_an_additive_term():
    model = backbone()
    block = model.vit.blocks[0]
    with torch.no_grad():
        block.rel_pos_bias.relative_position_bias_table.normal_()
    x = torch.randn(2, 17, 48)
    attn = block.attn
    q, k, v = attn.qkv(x).reshape(2, 17, 3, 3, 16).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-2, -1) * 16**-0.5 + block.rel_pos_bias()[None]
    expected = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 17, 48))
    torch.testing.assert_close(attn(x, attn_mask=block.rel_pos_bias()[None]), expected)


def _block_reference(block, x, bias):
    """One timm Block written out: x + proj(softmax(q k^T * scale + bias) v), then the MLP."""
    batch, tokens, dim = x.shape
    heads = block.attn.num_heads
    q, k, v = (
        block.attn.qkv(block.norm1(x))
        .reshape(batch, tokens, 3, heads, dim // heads)
        .permute(2, 0, 3, 1, 4)
    )
    logits = q @ k.transpose(-2, -1) * (dim // heads) ** -0.5 + bias
    x = x + block.attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(batch, tokens, dim))
    return x + block.mlp(block.norm2(x))


def test_bias_gets_gradients_through_the_fused_attention_in_train_mode():
    model = backbone(drop_path_rate=0.0).train()
    assert all(b.attn.fused_attn for b in model.vit.blocks)  # SDPA with attn_mask=bias
    with torch.no_grad():
        for block in model.vit.blocks:
            block.rel_pos_bias.relative_position_bias_table.normal_()
    images = torch.randn(2, 3, 32, 40)  # a 4 x 5 grid: the tables are interpolated too
    weights = [torch.randn(2, 48, 4, 5) for _ in model.out_indices]
    feats = model(images)
    loss = sum((f * w).sum() for f, w in zip(feats, weights, strict=True))
    tables = [b.rel_pos_bias.relative_position_bias_table for b in model.vit.blocks]
    grads = torch.autograd.grad(loss, tables)
    # the same network written out by hand, bias added to the logits before the softmax
    vit = model.vit
    pos = resample_abs_pos_embed(vit.pos_embed, (4, 5), old_size=(4, 4), num_prefix_tokens=1)
    x = torch.cat(
        [
            (vit.cls_token + pos[:, :1]).expand(2, -1, -1),
            vit.patch_embed(images).flatten(1, 2) + pos[:, 1:],
        ],
        dim=1,
    )
    ref_feats = []
    for block in vit.blocks:
        x = _block_reference(block, x, block.rel_pos_bias((4, 5))[None])
        ref_feats.append(x[:, 1:].transpose(1, 2).reshape(2, 48, 4, 5))
    for ours, ref in zip(feats, ref_feats, strict=True):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
    ref_loss = sum((f * w).sum() for f, w in zip(ref_feats, weights, strict=True))
    ref_grads = torch.autograd.grad(ref_loss, tables)
    for grad, ref in zip(grads, ref_grads, strict=True):
        assert torch.count_nonzero(grad) > 0.9 * grad.numel()  # every offset, every head
        torch.testing.assert_close(grad, ref, rtol=1e-4, atol=1e-5)


def test_one_block_equals_the_hand_written_reference_in_train_mode():
    model = backbone(drop_path_rate=0.0).train()
    block = model.vit.blocks[0]
    with torch.no_grad():
        block.rel_pos_bias.relative_position_bias_table.normal_()
    x = torch.randn(2, 17, 48)
    bias = block.rel_pos_bias()[None]
    torch.testing.assert_close(
        block(x, attn_mask=bias), _block_reference(block, x, bias), rtol=1e-4, atol=1e-5
    )


def test_features_follow_the_input_size():
    model = backbone(out_indices=(0, 1, 1, 1))
    feats = model(torch.randn(1, 3, 48, 72))  # not the 32 x 32 the tables were built for
    assert [tuple(f.shape) for f in feats] == [(1, 48, 6, 9)] * 4
    with pytest.raises(ValueError, match='out_indices'):
        backbone(out_indices=(0, 2))


@pytest.mark.parametrize('size', [(29, 27), (45, 70)])
def test_input_off_the_patch_grid_is_padded_right_and_bottom(size):
    """As mmseg's ViT: zeros right and bottom up to the patch grid; (29, 27) pads to the 4 x 4
    grid the position table is built for (used as it is), (45, 70) to 6 x 9 (resampled)."""
    model = backbone()
    images = torch.randn(2, 3, *size)
    grid = (-(-size[0] // 8), -(-size[1] // 8))
    padded = F.pad(images, (0, 8 * grid[1] - size[1], 0, 8 * grid[0] - size[0]))
    feats = model(images)
    assert [tuple(f.shape) for f in feats] == [(2, 48, *grid)] * 2
    for ours, ref in zip(feats, model(padded), strict=True):
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)


def test_layer_scale_is_optional_and_new():
    assert not hasattr(backbone().vit.blocks[0].ls1, 'gamma')
    assert backbone(layer_scale_init=1.0).vit.blocks[0].ls1.gamma.eq(1.0).all()


def test_mae_weights_load_and_the_new_parts_are_reported():
    mae = tiny_mae()
    model = backbone(layer_scale_init=1.0, img_size=48)
    report = load_encoder_weights(
        model.vit,
        {'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}},
        model.grid_size,
        new_ok=model.new_keys,
        unused_ok=model.unused_keys,
    )
    torch.testing.assert_close(
        model.vit.blocks[1].attn.qkv.weight, mae.encoder.vit.blocks[1].attn.qkv.weight
    )
    assert {k.split('.', 2)[2] for k in report.left_new} == {
        'rel_pos_bias.relative_position_bias_table',
        'ls1.gamma',
        'ls2.gamma',
    }
    assert 'encoder.vit.norm.weight' in report.dropped
    assert any('pos_embed' in r for r in report.resampled)  # 4 x 4 -> 6 x 6


def test_bias_tables_decay_with_their_block_and_get_no_weight_decay():
    model = backbone(depth=3, out_indices=(2,))
    groups = layer_decay_param_groups(model, 1.0, 0.05, 0.5)
    for i, block in enumerate(model.vit.blocks):
        group = next(
            g
            for g in groups
            if any(p is block.rel_pos_bias.relative_position_bias_table for p in g['params'])
        )
        assert group['lr'] == pytest.approx(0.5 ** (3 - i)) and group['weight_decay'] == 0.0
