"""Pure-torch MAE core (torch, timm, lightly; no OpenMMLab imports)."""

from .decoder import MAEPixelDecoder
from .encoder import MaskedViTEncoder
from .factory import DECODER_DEFAULT, ENCODER_SIZES, build_mae
from .loss import NormalizedPixelLoss, pixel_target
from .mae import MAEOutput, MaskedAutoencoder
from .masking import (
    STRATEGIES,
    batch_random_mask,
    check_mask_ratio,
    make_mask,
    num_visible,
    num_visible_in,
    visible_indices,
)

__all__ = [
    'MAEPixelDecoder',
    'MaskedViTEncoder',
    'DECODER_DEFAULT',
    'ENCODER_SIZES',
    'build_mae',
    'NormalizedPixelLoss',
    'pixel_target',
    'MAEOutput',
    'MaskedAutoencoder',
    'STRATEGIES',
    'batch_random_mask',
    'check_mask_ratio',
    'make_mask',
    'num_visible',
    'num_visible_in',
    'visible_indices',
]
