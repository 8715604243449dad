"""The tiny MAE every test builds: 48 wide, depth 2, 3 heads (seconds to train on a CPU)."""

from __future__ import annotations

import timm
import torch
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401  (registers MAEPretrainModel)
from mae_plugin.engine.registry import MODELS
from mae_plugin.models import build_mae
from mae_plugin.models.mae import MaskedAutoencoder
from mae_plugin.models.masking import make_mask

DECODER = dict(embed_dim=32, depth=2, num_heads=4)
# the decoder of the tiny demo runs (TINY in tests/helpers/mmengine_runs.py) and of the
# Hugging Face comparisons
SMALL_DECODER = dict(embed_dim=32, depth=1, num_heads=2)


def tiny_mae(
    img_size: int = 32,
    patch_size: int = 8,
    norm_pix: bool = True,
    decoder: dict | None = None,
    seed: int | None = None,
    **kw,
) -> MaskedAutoencoder:
    """A depth-2 MAE small enough for every unit test.

    Args:
        img_size: input side in pixels.
        patch_size: patch side in pixels.
        norm_pix: the loss's per-patch normalised target.
        decoder: the decoder's ``embed_dim``, ``depth`` and ``num_heads`` (default ``DECODER``).
        seed: if given, every tensor random from it (:func:`randomize`), in eval mode.
        **kw: more ``build_mae`` arguments.
    """
    mae = build_mae(
        'tiny',
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=48,
        depth=2,
        num_heads=3,
        norm_pix=norm_pix,
        decoder=dict(decoder or DECODER),
        **kw,
    )
    return mae if seed is None else randomize(mae, seed)


def demo_mae(img_size: int = 64, norm_pix: bool = True) -> MaskedAutoencoder:
    """The core MAE of the tiny demo runs' options (64 px, patch 8; another size resampled)."""
    return tiny_mae(img_size, 8, norm_pix, SMALL_DECODER)


# the registered pretraining model around a tiny MAE at 32 px
TINY_MODEL = dict(
    type='MAEPretrainModel',
    encoder=dict(
        type='MaskedViTEncoder', img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3
    ),
    decoder=dict(embed_dim=32, depth=1, num_heads=4),
)


def tiny_pretrain_model(**kw) -> torch.nn.Module:
    """``MAEPretrainModel`` of ``TINY_MODEL`` updated with ``kw``, built from seed 0."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return MODELS.build(dict(TINY_MODEL, **kw))


def tiny_timm_vit(img_size: int = 64, patch_size: int = 8) -> torch.nn.Module:
    """The tiny MAE's encoder as a timm model (no head), to load exported weights into."""
    return timm.create_model(
        'vit_tiny_patch16_224',
        pretrained=False,
        num_classes=0,
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=48,
        depth=2,
        num_heads=3,
    )


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every tensor random, norms, biases and position tables included: a swapped LayerNorm,
    a q/k bias mix-up or an ignored table changes the numbers. Returns ``module`` in eval
    mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in module.state_dict().values():
            tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.2)
    return module.eval()


def pipeline_masks(count: int, ratio: float = 0.75) -> torch.Tensor:
    """(count, 16) masks as the data pipeline draws them for a 32-px, 8-px-patch model."""
    return torch.stack([make_mask('random', (4, 4), ratio) for _ in range(count)])
