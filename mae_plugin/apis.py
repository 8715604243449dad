"""User-facing Python API: ``init_model``, ``reconstruct``, ``extract_features``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from torch import Tensor

from .checkpoints import load_mae_weights
from .data.constants import IMAGENET_MEAN, IMAGENET_STD
from .engine.pretrain.model import MAEPretrainModel
from .engine.registry import MODELS, SCOPE
from .models import MaskedAutoencoder, num_visible_in
from .models.encoder import pool_tokens


@dataclass
class Reconstruction:
    """Result of :func:`reconstruct`.

    Attributes:
        loss: scalar, the reconstruction loss on the masked patches.
        pred: (B, L, p*p*3) float predictions in the loss' target space.
        mask: (B, L) bool, True = masked.
        images: (B, 3, H, W) float RGB in 0-255: the visible patches of the input, the
            reconstruction where masked (with norm-pix, undone with each true patch's mean and
            std; see ``MaskedAutoencoder.pred_to_pixels``).
    """

    loss: Tensor
    pred: Tensor
    mask: Tensor
    images: Tensor


def init_model(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = 'cpu',
    cfg_options: dict | None = None,
    norm_pix: bool | None = None,
) -> MAEPretrainModel:
    """Build the model of ``config`` in eval mode and load ``checkpoint`` if given.

    Args:
        config: a config file or a loaded ``Config``.
        checkpoint: any format the converters read (plugin, official encoder-only or with
            decoder, timm, lightly, mmpretrain, a Hugging Face folder, ``.safetensors``),
            detected automatically and read code-free (``weights_only=True`` or safetensors).
        device: where the model is moved.
        cfg_options: overrides merged into the config, as ``--cfg-options`` does.
        norm_pix: the target space the checkpoint's decoder was trained in, when it differs
            from the config's (every recipe: normalised pixels). The official
            ``mae_visualize_vit_*.pth`` releases were trained on raw pixels: pass
            ``norm_pix=False`` for them, or ``reconstruct`` shows and scores their predictions
            in the wrong space.

    Returns:
        The model on ``device`` in eval mode, its config at ``model.cfg`` and the load report
        at ``model.load_report`` (None without a checkpoint).
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(os.fspath(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if norm_pix is not None:
        cfg.merge_from_dict({'model.loss.norm_pix': norm_pix})
    with DefaultScope.overwrite_default_scope(SCOPE):
        model = MODELS.build(cfg.model)
    model.cfg = cfg
    model.load_report = None
    if checkpoint is not None:
        model.load_report = load_mae_weights(model.mae, checkpoint)
        print_log(model.load_report.summary(), logger='current')
    return model.to(device).eval()


def _core(model: Any) -> MaskedAutoencoder:
    return model.mae if isinstance(model, MAEPretrainModel) else model


def _mean_std(model: Any, like: Tensor) -> tuple[Tensor, Tensor]:
    prep = getattr(model, 'data_preprocessor', None)
    if prep is not None and getattr(prep, '_enable_normalize', False):
        return prep.mean.to(like), prep.std.to(like)
    return (
        torch.tensor(IMAGENET_MEAN).view(-1, 1, 1).to(like),
        torch.tensor(IMAGENET_STD).view(-1, 1, 1).to(like),
    )


@torch.no_grad()
def reconstruct(
    model: MAEPretrainModel | MaskedAutoencoder, images: Tensor, mask: Tensor | None = None
) -> Reconstruction:
    """Mask, encode and decode ``images``, and compose the reconstruction in pixels.

    Args:
        model: a model from :func:`init_model`, or a bare ``MaskedAutoencoder``.
        images: (B, 3, H, W) float, normalised with the config's mean/std.
        mask: (B, L) bool, True = masked, every row with the same masked count; None draws
            random masks at the model's ratio.

    Returns:
        The loss, the prediction, the mask used and the composite picture.
    """
    mae = _core(model)
    output = mae(images, mask, None if mask is None else num_visible_in(mask))
    composite = mae.composite(output.pred, images, output.mask)
    mean, std = _mean_std(model, composite)
    pixels = (composite * std + mean).clamp(0, 255)
    return Reconstruction(output.loss, output.pred, output.mask, pixels)


@torch.no_grad()
def extract_features(
    model: MAEPretrainModel | MaskedAutoencoder, images: Tensor, pool: str = 'cls'
) -> Tensor:
    """Features of the unmasked encoder after its final norm, one vector per image.

    Args:
        model: a model from :func:`init_model`, or a bare ``MaskedAutoencoder``.
        images: (B, 3, H, W) float, normalised with the config's mean/std.
        pool: ``'cls'`` takes the cls token, ``'avg'`` the mean of the patch tokens.

    Returns:
        (B, D) float features.

    Raises:
        ValueError: ``pool`` is neither ``'cls'`` nor ``'avg'``.
    """
    return pool_tokens(_core(model).encoder(images), pool)
