"""The batches ``MAELightningModule`` trains on: ``MAEDataModule``'s and lightly's own.

- ``MAEDataModule``: a dict of ``inputs`` uint8 (B, 3, H, W) and ``data_samples`` with the mask
  (B, L) bool drawn in the data pipeline (and ``num_skipped``).
- lightly's pipeline (``LightlyDataset`` + ``MAETransform``, as lightly's MAE example):
  ``(views, targets, filenames)`` with ``views`` a list holding one float (B, 3, H, W) batch,
  already normalised by the transform; no mask: :class:`DeviceMasks` draws one on the device at
  the model's mask ratio, as the official code does, from a stream of each rank's own.

The dtype says whether images still need normalising: uint8 is raw RGB 0-255 and is
normalised once on the training device; a float tensor is taken as normalised (with the
model's ImageNet mean/std, ``MAETransform``'s default) and used as it is, never normalised
twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..models.masking import batch_random_mask

EXPECTED = (
    "MAEDataModule batches (a dict of 'inputs' uint8 (B, 3, H, W) and 'data_samples' with the "
    "mask) or lightly's (views, targets, filenames) of LightlyDataset + MAETransform"
)


def _images(images: Any, normalize: Callable[[Tensor], Tensor], where: str) -> Tensor:
    """(B, 3, H, W) normalised float: uint8 normalised once, float taken as normalised."""
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise TypeError(
            f'MAELightningModule trains on {EXPECTED}; {where} is '
            f'{type(images).__name__} {tuple(getattr(images, "shape", ()))}, not (B, 3, H, W)'
        )
    if images.dtype == torch.uint8:
        return normalize(images)
    if images.is_floating_point():
        return images
    raise TypeError(
        f'{where} has dtype {images.dtype}: uint8 (raw RGB 0-255) or float (normalised) '
        'images are expected'
    )


def unpack_batch(
    batch: Any, normalize: Callable[[Tensor], Tensor]
) -> tuple[Tensor, dict[str, Any]]:
    """The normalised images and the data samples of an ``MAEDataModule`` or lightly batch.

    Args:
        batch: an ``MAEDataModule`` dict or lightly's ``(views, targets, filenames)``.
        normalize: uint8 (B, 3, H, W) -> float normalised (the module's mean/std).

    Returns:
        (B, 3, H, W) float normalised images, and the data samples: ``mask`` (B, L) bool and
        ``num_skipped`` (B,) when the batch has them, else an empty dict.

    Raises:
        TypeError: a batch of neither kind, naming what was expected.
    """
    if isinstance(batch, dict):
        samples = batch.get('data_samples')
        if 'inputs' not in batch or not isinstance(samples, dict):
            raise TypeError(
                f'MAELightningModule trains on {EXPECTED}; got a dict with keys {sorted(batch)}'
            )
        return _images(batch['inputs'], normalize, "batch['inputs']"), samples
    if isinstance(batch, (list, tuple)) and len(batch) == 3:
        views = batch[0]
        if isinstance(views, (list, tuple)):
            if len(views) != 1:
                raise TypeError(
                    f'a lightly batch with {len(views)} views: MAE trains on one '
                    '(MAETransform gives one)'
                )
            views = views[0]
        return _images(views, normalize, 'the views of the lightly batch'), {}
    raise TypeError(f'MAELightningModule trains on {EXPECTED}; got a {type(batch).__name__}')


class DeviceMasks:
    """Masks drawn on the training device for batches that bring none (lightly's pipeline).

    The official code seeds every process with seed + rank, so the ranks of a DDP run draw
    other masks. Lightning's ``seed_everything`` seeds every rank alike, and torch's default
    generator would then give every rank the same masks at every step: each rank draws from a
    generator of its own, seeded with torch's initial seed + rank.
    """

    def __init__(self) -> None:
        self._generator: torch.Generator | None = None

    def __call__(
        self, batch_size: int, num_patches: int, mask_ratio: float, device: torch.device, rank: int
    ) -> Tensor:
        """(B, L) bool, True = masked, on ``device``."""
        if self._generator is None or self._generator.device != torch.device(device):
            self._generator = torch.Generator(device)
            self._generator.manual_seed((torch.initial_seed() + rank) % 2**63)
        return batch_random_mask(batch_size, num_patches, mask_ratio, device, self._generator)
