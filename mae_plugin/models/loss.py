"""MAE's reconstruction loss: mean squared error on (normalised) pixels of masked patches."""
from __future__ import annotations

from lightly.models.utils import normalize_mean_var
from torch import Tensor, nn


def pixel_target(patches: Tensor, norm_pix: bool = True, eps: float = 1e-6) -> Tensor:
    """Target of the decoder: each patch normalised by its own mean and (unbiased) variance.

    Args:
        patches: (B, L, p*p*C) pixels from ``patchify``.

    Returns:
        (B, L, p*p*C) ``(x - mean) / sqrt(var + eps)`` per patch, or ``patches`` if not norm_pix.
    """
    return normalize_mean_var(patches, dim=-1, eps=eps) if norm_pix else patches


class NormalizedPixelLoss(nn.Module):
    """Squared error averaged over each patch, then over the **masked** patches only.

    Computed in float32 whatever the autocast dtype, so bf16/fp16 training keeps an exact loss.
    """

    def __init__(self, norm_pix: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_pix = norm_pix
        self.eps = eps

    def forward(self, pred: Tensor, patches: Tensor, mask: Tensor) -> Tensor:
        """Args: pred, patches (B, L, p*p*C); mask (B, L) bool, True = masked. Returns a scalar."""
        target = pixel_target(patches.float(), self.norm_pix, self.eps)
        per_patch = (pred.float() - target).pow(2).mean(dim=-1)  # (B, L)
        weights = mask.to(per_patch.dtype)
        return (per_patch * weights).sum() / weights.sum()
