"""The reconstruction loss against the official ``forward_loss`` of models_mae.py: each patch
normalised by its mean and (unbiased var + 1e-6) ** .5, squared error averaged over a patch's
pixels, then over the masked patches only; float32 whatever the input dtype."""

import torch

from mae_plugin.models import NormalizedPixelLoss, pixel_target


def official_loss(pred, target, mask, norm_pix=True):
    """models_mae.py ``forward_loss`` written out: ``pred``/``target`` (B, L, p*p*C) over every
    patch, ``mask`` (B, L) 1 where masked."""
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)  # (B, L): mean over the pixels of a patch
    return (loss * mask).sum() / mask.sum()  # mean over the masked patches only


def masked(x, mask):
    """(B, M, P) the masked patches of ``x`` (B, L, P), the same count M in every row."""
    return x[mask].reshape(x.shape[0], -1, x.shape[-1])


def test_norm_pix_target_against_direct_computation():
    patches = torch.randn(2, 5, 12) * 3 + 1
    target = pixel_target(patches)
    for b in range(2):
        for i in range(5):
            v = patches[b, i].double()
            mean = v.sum() / v.numel()
            var = ((v - mean) ** 2).sum() / (v.numel() - 1)  # unbiased, as torch.var
            expected = (v - mean) / torch.sqrt(var + 1e-6)
            torch.testing.assert_close(target[b, i].double(), expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(pixel_target(patches, norm_pix=False), patches)


def test_loss_is_mean_squared_error_of_the_patches_given():
    loss_fn = NormalizedPixelLoss()
    patches = torch.randn(2, 4, 12)
    pred = torch.randn(2, 4, 12)
    expected = (pred - pixel_target(patches)).pow(2).mean(-1).mean()
    torch.testing.assert_close(loss_fn(pred, patches), expected)
    raw = NormalizedPixelLoss(norm_pix=False)
    torch.testing.assert_close(raw(pred, patches), (pred - patches).pow(2).mean())


def test_loss_of_the_masked_patches_equals_the_official_masked_mean():
    """Nearly flat patches (variance ~1e-6, as a patch of sky) make the eps count: 1e-5 in
    place of 1e-6, or a biased variance, moves the loss by far more than the tolerance."""
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(3, 16, 48, generator=gen, dtype=torch.float64)
    target[:, ::2] *= 1e-3  # half the patches nearly flat
    pred = torch.randn(3, 16, 48, generator=gen, dtype=torch.float64)
    mask = torch.stack([torch.randperm(16, generator=gen) < 12 for _ in range(3)])  # 12 masked
    for norm_pix in (True, False):
        expected = official_loss(pred, target, mask.double(), norm_pix)
        got = NormalizedPixelLoss(norm_pix)(masked(pred, mask), masked(target, mask))
        torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=0)


def test_loss_is_float32_for_half_precision_inputs():
    """Under autocast the prediction comes in bf16: the squares and the mean are taken in
    float32, from the bf16 values as they are."""
    pred = torch.randn(2, 4, 12).bfloat16()
    patches = torch.randn(2, 4, 12).bfloat16()
    loss = NormalizedPixelLoss()(pred, patches)
    assert loss.dtype == torch.float32
    expected = official_loss(pred.double(), patches.double(), torch.ones(2, 4))
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=0)
