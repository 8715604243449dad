"""Reconstruction pictures, drawn the same way for every runner.

One row per image: original | masked | reconstruction | reconstruction + visible. The runner only
says how to normalise a batch and, for a sharded model, which module to call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ..models.mae import MAEOutput, MaskedAutoencoder
from ..models.masking import num_visible_in

Forward = Callable[[Tensor, Tensor, int], MAEOutput]


@torch.no_grad()
def reconstruction_panels(
    mae: MaskedAutoencoder, images: Tensor, pred: Tensor, mask: Tensor
) -> Tensor:
    """The four panels of each image, in the normalised image space.

    Args:
        mae: the model that predicted ``pred`` (its patch layout and target space).
        images: (B, C, H, W) normalised inputs.
        pred: (B, L, p*p*C) predictions in the loss' target space.
        mask: (B, L) bool, True = masked.

    Returns:
        (B, 4, C, H, W): original, masked input (masked patches 0 = the mean colour),
        reconstruction of every patch (norm-pix undone per patch), reconstruction with the
        visible patches pasted back.
    """
    masked = mae.unpatchify(mae.patchify(images).float() * ~mask.unsqueeze(-1))
    full = mae.unpatchify(mae.pred_to_pixels(pred, images))
    return torch.stack([images.float(), masked, full, mae.composite(pred, images, mask)], dim=1)


def to_uint8_grid(panels: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Panels as one picture, one row per sample.

    Args:
        panels: (B, 4, C, H, W) normalised panels (:func:`reconstruction_panels`).
        mean: per-channel mean of the normalisation, in pixel levels.
        std: per-channel std of the normalisation, in pixel levels.

    Returns:
        (B*H, 4*W, C) uint8 on the CPU.
    """
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 1, -1, 1, 1)
    pixels = (panels.float().cpu() * std_t + mean_t).clamp(0, 255).round().to(torch.uint8)
    batch, cols, chans, height, width = pixels.shape
    return pixels.permute(0, 3, 1, 4, 2).reshape(batch * height, cols * width, chans)


@torch.no_grad()
def draw_reconstructions(
    module: nn.Module,
    mae: MaskedAutoencoder,
    images: Tensor,
    masks: Tensor,
    normalize: Callable[[Tensor], Tensor],
    mean: Sequence[float],
    std: Sequence[float],
    forward: Forward | None = None,
) -> Tensor:
    """Reconstruct ``images`` under ``masks`` and lay out the four panels of each.

    Args:
        module: the runner's model holding ``mae``; in eval mode for the forward, its mode
            restored after.
        mae: the ``MaskedAutoencoder`` that predicts.
        images: (B, 3, H, W) uint8 RGB at the model's input size.
        masks: (B, L) bool, True = masked, every row keeping the same number of patches.
        normalize: a uint8 batch -> the model's normalised input, on its device.
        mean: per-channel mean of ``normalize``, in pixel levels.
        std: per-channel std of ``normalize``, in pixel levels.
        forward: ``(inputs, masks, num_visible) -> MAEOutput`` in place of ``mae``'s own call
            (a sharded model's root module, which gathers the weights).

    Returns:
        (B*H, 4*W, 3) uint8 on the CPU, norm-pix undone per patch (real colours).
    """
    visible = num_visible_in(masks)  # read before the move: no device sync
    was_training = module.training
    module.eval()
    try:
        inputs = normalize(images)
        output = (forward or mae)(inputs, masks.to(inputs.device), visible)
        panels = reconstruction_panels(mae, inputs, output.pred, output.mask)
    finally:
        module.train(was_training)
    return to_uint8_grid(panels, mean, std)
