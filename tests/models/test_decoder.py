"""MAEPixelDecoder: the paper's defaults, the official init, the official unshuffle (concat the
mask tokens, gather by ``ids_restore``), gradient checkpointing that changes no number."""

import math

import torch

from mae_plugin.models import MAEPixelDecoder
from mae_plugin.models.masking import batch_random_mask
from tests.helpers.models import tiny_mae
from tests.helpers.official import official_sincos

TINY = dict(grid_size=(4, 4), patch_size=8, encoder_dim=48, embed_dim=32, depth=2, num_heads=4)


def official_decoder(dec, latent, ids_restore):
    """models_mae.py ``forward_decoder`` with this decoder's modules: ``latent`` (B, 1 + K, D)
    in the order of ``ids_shuffle``, ``ids_restore`` (B, L) its inverse."""
    x = dec.embed(latent)
    n = x.shape[0]
    mask_tokens = dec.mask_token.repeat(n, ids_restore.shape[1] + 1 - x.shape[1], 1)
    x_ = torch.cat([x[:, 1:], mask_tokens], dim=1)
    x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    x = torch.cat([x[:, :1], x_], dim=1) + dec.pos_embed
    return dec.pred(dec.norm(dec.blocks(x)))[:, 1:]


def test_decoder_defaults_are_the_papers():
    dec = MAEPixelDecoder()
    assert dec.embed.out_features == 512 and len(dec.blocks) == 8
    assert dec.blocks[0].attn.num_heads == 16
    assert dec.pred.out_features == 16 * 16 * 3
    assert abs(float(dec.mask_token.detach().std()) - 0.02) < 0.01
    assert not dec.pos_embed.requires_grad


def test_forward_equals_the_official_concat_and_gather():
    torch.manual_seed(0)
    dec = MAEPixelDecoder(**TINY).eval()
    with torch.no_grad():
        dec.mask_token.normal_()  # a distinct token, so a patch put in the wrong place shows
    noise = torch.rand(3, 16)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    latent = torch.randn(3, 1 + 4, 48)  # cls + the first 4 of ids_shuffle
    expected = official_decoder(dec, latent, ids_restore)
    got = dec(latent, ids_shuffle[:, :4])
    assert got.shape == (3, 16, 8 * 8 * 3)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_init_weights_is_the_official_init():
    """Fixed sin-cos table (frozen), xavier-uniform Linear weights and zero biases, LayerNorm
    ones and zeros, mask token N(0, 0.02)."""
    torch.manual_seed(0)
    dec = MAEPixelDecoder(grid_size=(4, 4), patch_size=8, encoder_dim=256, embed_dim=256, depth=1)
    table = official_sincos(256, 4).float().unsqueeze(0)
    torch.testing.assert_close(dec.pos_embed.detach(), table, rtol=0, atol=1e-6)
    assert not dec.pos_embed.requires_grad
    for name, module in dec.named_modules():
        if isinstance(module, torch.nn.Linear):
            fan_out, fan_in = module.weight.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert bound * 0.98 < float(module.weight.detach().abs().max()) <= bound, name
            assert torch.equal(module.bias, torch.zeros_like(module.bias)), name
        elif isinstance(module, torch.nn.LayerNorm):
            assert torch.equal(module.weight, torch.ones_like(module.weight)), name
            assert torch.equal(module.bias, torch.zeros_like(module.bias)), name
    assert abs(float(dec.mask_token.detach().std()) - 0.02) < 0.004
    assert abs(float(dec.mask_token.detach().mean())) < 0.004


def test_decoder_gradient_checkpointing_gives_the_same_loss_and_grads():
    decoder = dict(grid_size=(4, 4), patch_size=8, encoder_dim=48, embed_dim=32, depth=2)
    torch.manual_seed(0)
    plain = tiny_mae()
    plain.decoder = MAEPixelDecoder(num_heads=4, **decoder)
    ckpt = tiny_mae()
    ckpt.decoder = MAEPixelDecoder(num_heads=4, grad_checkpointing=True, **decoder)
    ckpt.load_state_dict(plain.state_dict())
    x, mask = torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.75)
    losses = [model(x, mask).loss for model in (plain, ckpt)]
    torch.testing.assert_close(losses[0], losses[1], rtol=0, atol=0)
    for loss in losses:
        loss.backward()
    for (name, p), p2 in zip(plain.named_parameters(), ckpt.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, p2.grad, rtol=0, atol=0, msg=name)
