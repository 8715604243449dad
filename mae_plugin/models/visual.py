"""Reconstruction pictures: original | masked | reconstruction | reconstruction + visible."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .mae import MaskedAutoencoder


@torch.no_grad()
def reconstruction_panels(mae: MaskedAutoencoder, images: Tensor, pred: Tensor, mask: Tensor
                          ) -> Tensor:
    """The four panels of each image, in the normalised image space.

    Args:
        images: (B, C, H, W) normalised inputs; pred: (B, L, p*p*C); mask: (B, L) bool.

    Returns:
        (B, 4, C, H, W): original, masked input (masked patches 0 = the mean colour),
        reconstruction of every patch (norm-pix undone per patch), reconstruction with the
        visible patches pasted back.
    """
    masked = mae.unpatchify(mae.patchify(images).float() * ~mask.unsqueeze(-1))
    full = mae.unpatchify(mae.pred_to_pixels(pred, images))
    return torch.stack([images.float(), masked, full, mae.composite(pred, images, mask)], dim=1)


def to_uint8_grid(panels: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """(B, 4, C, H, W) normalised panels -> (B*H, 4*W, C) uint8 image, one row per sample."""
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 1, -1, 1, 1)
    pixels = (panels.float().cpu() * std_t + mean_t).clamp(0, 255).round().to(torch.uint8)
    batch, cols, chans, height, width = pixels.shape
    return pixels.permute(0, 3, 1, 4, 2).reshape(batch * height, cols * width, chans)
