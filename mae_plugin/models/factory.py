"""The MAE sizes of the paper, and :func:`build_mae` to build one.

Encoders equal timm's ``vit_{base,large}_patch16_224`` and ``vit_huge_patch14_224``; the decoder
is 8 x 512 x 16 heads in every size (official recipe).
"""

from __future__ import annotations

from typing import Any

from .decoder import MAEPixelDecoder
from .encoder import MaskedViTEncoder
from .loss import NormalizedPixelLoss
from .mae import MaskedAutoencoder

ENCODER_SIZES: dict[str, dict[str, Any]] = {
    'tiny': dict(patch_size=16, embed_dim=192, depth=12, num_heads=3),
    'base': dict(patch_size=16, embed_dim=768, depth=12, num_heads=12),
    'large': dict(patch_size=16, embed_dim=1024, depth=24, num_heads=16),
    'huge': dict(patch_size=14, embed_dim=1280, depth=32, num_heads=16),
}
DECODER_DEFAULT: dict[str, Any] = dict(embed_dim=512, depth=8, num_heads=16)


def vit_size(arch: str | dict[str, Any]) -> dict[str, Any]:
    """ViT sizes (patch_size, embed_dim, depth, num_heads) of a named size or a dict of them.

    Raises:
        ValueError: ``arch`` is a name not in ``ENCODER_SIZES``.
    """
    if isinstance(arch, dict):
        return dict(arch)
    if arch not in ENCODER_SIZES:
        raise ValueError(
            f'unknown arch {arch!r}; choose one of {sorted(ENCODER_SIZES)} or give '
            'a dict of ViT sizes'
        )
    return dict(ENCODER_SIZES[arch])


def build_mae(
    arch: str | dict[str, Any] = 'base',
    img_size: int = 224,
    norm_pix: bool = True,
    mask_ratio: float = 0.75,
    decoder: dict[str, Any] | None = None,
    **encoder_overrides: Any,
) -> MaskedAutoencoder:
    """A MaskedAutoencoder of a named size, e.g. ``build_mae('large')``, or of a dict of sizes.

    Args:
        arch: ``'tiny'``, ``'base'``, ``'large'``, ``'huge'`` or a dict of ViT sizes.
        img_size: pretraining image side in pixels.
        norm_pix: reconstruct per-patch normalised pixels (the paper's default) or raw ones.
        mask_ratio: share of masked patches when the model masks by itself.
        decoder: decoder arguments over ``DECODER_DEFAULT``.
        **encoder_overrides: encoder arguments over the size's (e.g. ``drop_path_rate``).
    """
    enc_cfg = {**vit_size(arch), **encoder_overrides}
    encoder = MaskedViTEncoder(img_size=img_size, **enc_cfg)
    dec_cfg = {**DECODER_DEFAULT, **(decoder or {})}
    dec = MAEPixelDecoder(
        grid_size=encoder.grid_size,
        patch_size=encoder.patch_size,
        encoder_dim=encoder.embed_dim,
        **dec_cfg,
    )
    return MaskedAutoencoder(encoder, dec, NormalizedPixelLoss(norm_pix), mask_ratio)
