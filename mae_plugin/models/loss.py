"""MAE's reconstruction loss: mean squared error on (normalised) pixels of masked patches."""

from __future__ import annotations

from lightly.models.utils import normalize_mean_var
from torch import Tensor, nn
from torch.nn import functional as F


def pixel_target(patches: Tensor, norm_pix: bool = True, eps: float = 1e-6) -> Tensor:
    """Target of the decoder: each patch normalised by its own mean and (unbiased) variance.

    Args:
        patches: (B, L, p*p*C) pixels from ``patchify``.
        norm_pix: normalise each patch; False returns ``patches`` as they are.
        eps: added to the variance before the square root.

    Returns:
        (B, L, p*p*C) ``(x - mean) / sqrt(var + eps)`` per patch, or ``patches`` if not norm_pix.
    """
    return normalize_mean_var(patches, dim=-1, eps=eps) if norm_pix else patches


class NormalizedPixelLoss(nn.Module):
    """Mean squared error between predictions and (normalised) pixels of the patches given.

    The caller passes the **masked** patches only (``MaskedAutoencoder`` gathers them): every
    patch has the same number of pixels, so this equals the official "mean over the patch, then
    over masked patches", without computing anything for the visible ones. Computed in float32
    whatever the autocast dtype.

    Args:
        norm_pix: compare with per-patch normalised pixels (:func:`pixel_target`).
        eps: added to each patch's variance before the square root.
    """

    def __init__(self, norm_pix: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_pix = norm_pix
        self.eps = eps

    def forward(self, pred: Tensor, patches: Tensor) -> Tensor:
        """Mean squared error over every pixel of the masked patches.

        Args:
            pred: (B, M, p*p*C) predictions of the M masked patches.
            patches: (B, M, p*p*C) their true pixels, before :func:`pixel_target`.

        Returns:
            Scalar float32 loss.
        """
        target = pixel_target(patches.float(), self.norm_pix, self.eps)
        return F.mse_loss(pred.float(), target)
