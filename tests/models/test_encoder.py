import math

import numpy as np
import pytest
import timm
import torch
from timm.models.vision_transformer import VisionTransformer

from mae_plugin.models import MaskedViTEncoder
from mae_plugin.models.masking import batch_random_mask, visible_indices


def small_encoder(**kw):
    torch.manual_seed(0)
    return MaskedViTEncoder(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, **kw)


def official_sincos(dim: int, grid: int) -> np.ndarray:
    """The official get_2d_sincos_pos_embed, written out from the MAE repository's formula."""

    def one_d(d, pos):
        omega = np.arange(d // 2, dtype=np.float32)  # float32, as util/pos_embed.py
        omega /= d / 2.0
        omega = 1.0 / 10000**omega
        out = np.einsum('m,d->md', pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    gw, gh = np.meshgrid(np.arange(grid, dtype=np.float32), np.arange(grid, dtype=np.float32))
    emb = np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)
    return np.concatenate([np.zeros([1, dim]), emb], axis=0)


def test_unmasked_encoder_equals_timm_vit_with_same_weights():
    enc = small_encoder().eval()
    ref = VisionTransformer(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0
    ).eval()
    ref.load_state_dict(enc.vit.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(enc(x), ref.forward_features(x))


def test_base_state_dict_loads_strict_into_timm_model():
    with torch.device('meta'):
        enc = MaskedViTEncoder()
        ref = timm.create_model('vit_base_patch16_224', num_classes=0)
    assert enc.vit.state_dict().keys() == ref.state_dict().keys()
    for key, value in ref.state_dict().items():
        assert enc.vit.state_dict()[key].shape == value.shape, key


def test_masked_encoder_sees_only_visible_tokens():
    enc = small_encoder().eval()
    x = torch.randn(2, 3, 32, 32)
    mask = batch_random_mask(2, 16, 0.75)
    ids = visible_indices(mask, 4)
    out = enc(x, ids)
    assert out.shape == (2, 1 + 4, 48)
    # reference: the visible patches alone, with their own position embeddings
    vit = enc.vit
    patches = vit.patch_embed(x) + vit.pos_embed[:, 1:]
    seq = torch.stack([patches[b, ids[b]] for b in range(2)])
    cls = (vit.cls_token + vit.pos_embed[:, :1]).expand(2, -1, -1)
    ref = vit.norm(vit.blocks(torch.cat([cls, seq], 1)))
    torch.testing.assert_close(out, ref)
    # pixels of masked patches do not change the output
    x2 = x.clone()
    for b in range(2):
        for idx in torch.nonzero(mask[b]).flatten().tolist():
            r, c = divmod(idx, 4)
            x2[b, :, r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8] = 100.0
    torch.testing.assert_close(enc(x2, ids), out)


def test_official_initialisation():
    enc = MaskedViTEncoder(img_size=64, patch_size=16, embed_dim=64, depth=2, num_heads=4)
    vit = enc.vit
    table = torch.from_numpy(official_sincos(64, 4)).float()
    assert torch.equal(vit.pos_embed[0], table)
    assert not vit.pos_embed.requires_grad
    qkv = vit.blocks[0].attn.qkv.weight.detach()
    bound = math.sqrt(6 / (qkv.shape[0] + qkv.shape[1]))
    assert float(qkv.abs().max()) <= bound and float(qkv.abs().max()) > 0.9 * bound
    assert torch.all(vit.blocks[0].attn.qkv.bias == 0)
    proj = vit.patch_embed.proj.weight.detach()
    fan_out, fan_in = proj.shape[0], proj[0].numel()
    assert float(proj.abs().max()) <= math.sqrt(6 / (fan_in + fan_out))
    assert torch.all(vit.norm.weight == 1) and torch.all(vit.norm.bias == 0)
    assert vit.norm.eps == 1e-6 and vit.blocks[0].norm1.eps == 1e-6
    big = MaskedViTEncoder(img_size=32, patch_size=8, embed_dim=4096, depth=1, num_heads=8)
    assert abs(float(big.vit.cls_token.detach().std()) - 0.02) < 0.002


def test_gradient_checkpointing_gives_same_output_and_grads():
    enc = small_encoder()
    enc_ckpt = small_encoder(grad_checkpointing=True)
    enc_ckpt.load_state_dict(enc.state_dict())
    x = torch.randn(2, 3, 32, 32)
    ids = visible_indices(batch_random_mask(2, 16, 0.5), 8)
    out, out_ckpt = enc(x, ids), enc_ckpt(x, ids)
    torch.testing.assert_close(out, out_ckpt)
    out.square().sum().backward()
    out_ckpt.square().sum().backward()
    for (name, p), p2 in zip(enc.named_parameters(), enc_ckpt.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, p2.grad, msg=name)


@pytest.mark.parametrize(
    'arch,timm_name,millions',
    [
        ('base', 'vit_base_patch16_224', 85.80),
        ('large', 'vit_large_patch16_224', 303.30),
        ('huge', 'vit_huge_patch14_224', 630.76),
    ],
)
def test_paper_sizes_match_timm(arch, timm_name, millions):
    from mae_plugin.models import ENCODER_SIZES

    with torch.device('meta'):
        enc = MaskedViTEncoder(**ENCODER_SIZES[arch])
        ref = timm.create_model(timm_name, num_classes=0)
    count = sum(p.numel() for p in enc.parameters())
    assert count == sum(p.numel() for p in ref.parameters())
    assert round(count / 1e6, 2) == millions


def test_patch_embed_is_xavier_uniform_of_the_flattened_conv_weight_and_cls_token_is_normal():
    """The official ``initialize_weights``: ``xavier_uniform_(w.view([w.shape[0], -1]))``, so
    fan_in = C * p * p and fan_out = D (xavier on the 4-D conv weight would take fan_out =
    D * p * p, a bound 3x smaller here), bias zero; ``normal_(cls_token, std=.02)``."""
    torch.manual_seed(0)
    enc = MaskedViTEncoder(img_size=32, patch_size=8, embed_dim=256, depth=1, num_heads=4)
    proj = enc.vit.patch_embed.proj
    weight = proj.weight.detach()  # (D, C, p, p) = (256, 3, 8, 8)
    bound = math.sqrt(6 / (3 * 8 * 8 + 256))
    assert float(weight.abs().max()) <= bound
    assert float(weight.abs().max()) > 0.99 * bound
    assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert torch.equal(proj.bias, torch.zeros(256))
    # the cls tokens of 8 encoders: 2048 draws of N(0, 0.02)
    draws = []
    for seed in range(8):
        torch.manual_seed(seed)
        small = MaskedViTEncoder(img_size=16, patch_size=8, embed_dim=256, depth=1, num_heads=4)
        draws.append(small.vit.cls_token.detach().flatten().double())
    cls = torch.cat(draws).sort().values
    # Kolmogorov-Smirnov against N(0, 0.02): the largest gap between the empirical and the normal
    # CDF, under 1.63 / sqrt(n) (the 1 % critical value)
    normal = torch.special.ndtr(cls / 0.02)
    n = len(cls)
    rank = torch.arange(1, n + 1, dtype=torch.float64)
    gap = torch.maximum(rank / n - normal, normal - (rank - 1) / n).max()
    assert float(gap) < 1.63 / math.sqrt(n)
