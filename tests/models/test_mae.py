"""MaskedAutoencoder: forward and loss against the official computation, gradients, masking,
the composite picture; the training forward traces as one graph (the keep count comes from
the config) and compiles to the eager result. The loss and the decoder alone: test_loss.py,
test_decoder.py."""

import pytest
import torch

from mae_plugin.models.masking import batch_random_mask
from tests.helpers.models import pipeline_masks, tiny_mae


def official_forward(mae, imgs, noise):
    """The official models_mae.py forward (shuffle by noise, concat + gather with ids_restore),
    transcribed with this model's modules, as the reference for ours."""
    enc, dec, p = mae.encoder.vit, mae.decoder, mae.patch_size
    x = enc.patch_embed(imgs) + enc.pos_embed[:, 1:]
    n, length, dim = x.shape
    num_visible = int(length * (1 - mae.mask_ratio))  # the official len_keep
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    x = torch.gather(x, 1, ids_shuffle[:, :num_visible].unsqueeze(-1).repeat(1, 1, dim))
    mask = torch.ones(n, length)
    mask[:, :num_visible] = 0
    mask = torch.gather(mask, 1, ids_restore)
    cls = (enc.cls_token + enc.pos_embed[:, :1]).expand(n, -1, -1)
    x = enc.norm(enc.blocks(torch.cat([cls, x], 1)))
    x = dec.embed(x)
    mask_tokens = dec.mask_token.repeat(n, ids_restore.shape[1] + 1 - x.shape[1], 1)
    x_ = torch.cat([x[:, 1:], mask_tokens], 1)
    x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    x = torch.cat([x[:, :1], x_], 1) + dec.pos_embed
    pred = dec.pred(dec.norm(dec.blocks(x)))[:, 1:]
    h = w = imgs.shape[2] // p
    target = imgs.reshape(n, 3, h, p, w, p).permute(0, 2, 4, 3, 5, 1).reshape(n, h * w, p * p * 3)
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)
    target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)
    return (loss * mask).sum() / mask.sum(), pred, mask.bool()


def test_forward_equals_the_official_computation(mae):
    mae.eval()
    torch.manual_seed(1)
    imgs = torch.randn(3, 3, 32, 32)
    noise = torch.rand(3, 16)
    ref_loss, ref_pred, ref_mask = official_forward(mae, imgs, noise)
    out = mae(imgs, ref_mask)
    assert torch.equal(out.mask, ref_mask)
    torch.testing.assert_close(out.pred, ref_pred, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss, ref_loss, rtol=1e-5, atol=1e-6)


def test_mae_loss_only_counts_masked_patches(mae):
    imgs = torch.randn(2, 3, 32, 32)
    mask = batch_random_mask(2, 16, 0.75)
    captured = {}
    handle = mae.decoder.pred.register_forward_hook(
        lambda mod, inp, out: captured.setdefault('pred', out.retain_grad() or out)
    )
    out = mae(imgs, mask)
    handle.remove()
    out.loss.backward()
    grad = captured['pred'].grad  # (B, L, p*p*3)
    assert torch.all(grad[~mask] == 0) and torch.all(grad[mask].abs().sum(-1) > 0)
    per_patch = (out.pred.detach() - mae.target(imgs)).pow(2).mean(-1)
    torch.testing.assert_close(out.loss.detach(), per_patch[mask].mean())


def test_every_trainable_parameter_gets_a_gradient(mae):
    out = mae(torch.randn(2, 3, 32, 32))
    out.loss.backward()
    for name, param in mae.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
            assert param.grad.abs().sum() > 0, name
        else:
            assert name.endswith('pos_embed'), name  # only the fixed sin-cos tables are frozen


def test_self_masking_uses_the_ratio_and_keeps_exact_count(mae):
    out = mae(torch.randn(4, 3, 32, 32))
    assert out.pred.shape == (4, 16, 8 * 8 * 3)
    assert torch.all((~out.mask).sum(1) == 4)


def test_bad_image_size_and_mask_shape_are_errors(mae):
    with pytest.raises(ValueError, match='32, 32'):
        mae(torch.randn(1, 3, 36, 36))
    with pytest.raises(ValueError, match='mask must have shape'):
        mae(torch.randn(1, 3, 32, 32), torch.zeros(1, 9, dtype=torch.bool))


def test_composite_pastes_visible_patches_and_undoes_norm_pix(mae):
    imgs = torch.randn(2, 3, 32, 32)
    mask = batch_random_mask(2, 16, 0.75)
    perfect = mae.target(imgs)  # a perfect prediction in norm-pix space
    comp = mae.composite(perfect, imgs, mask)
    torch.testing.assert_close(comp, imgs, rtol=1e-4, atol=1e-4)
    raw = tiny_mae(norm_pix=False)
    torch.testing.assert_close(raw.composite(raw.patchify(imgs), imgs, mask), imgs)


@pytest.mark.parametrize('with_mask', [True, False])
def test_core_forward_has_no_graph_break(with_mask):
    mae = tiny_mae()
    images = torch.randn(2, 3, 32, 32)
    mask = pipeline_masks(2) if with_mask else None
    report = torch._dynamo.explain(lambda x, m: mae(x, m).loss)(images, mask)
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


def test_compiled_forward_equals_eager():
    torch.manual_seed(0)
    mae = tiny_mae()
    images, mask = torch.randn(2, 3, 32, 32), pipeline_masks(2)
    compiled = torch.compile(lambda x, m: mae(x, m).loss, backend='eager', fullgraph=True)
    assert torch.equal(compiled(images, mask), mae(images, mask).loss)


def test_bf16_autocast_forward_has_no_graph_break():
    mae = tiny_mae()

    def loss(images, mask):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return mae(images, mask).loss

    report = torch._dynamo.explain(loss)(torch.randn(2, 3, 32, 32), pipeline_masks(2))
    assert report.graph_break_count == 0, report.break_reasons
