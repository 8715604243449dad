"""Pretraining transforms of one sample: load -> RandomResizedCrop(224, (0.2, 1), bicubic) -> flip
-> mask -> pack.

Each is a ``sample -> sample`` callable on a plain dict (``img_path``, ``img``, ``mask``, ...), so
any runner chains them: MMEngine registers these very classes under the same names (configs write
``type='MAERandomResizedCrop'``), and a plain ``torchvision.transforms.Compose`` chains them as
well. Crops and flips are torchvision's (what the official code runs), on PIL images; images stay
uint8 until the batch is normalised on the training device.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import InterpolationMode, RandomResizedCrop
from torchvision.transforms import functional as F

from ..models.masking import STRATEGIES, check_mask_ratio, make_mask
from .image import load_image, to_uint8_tensor


class MAELoadImage:
    """Read ``sample['img_path']`` (or the encoded file ``sample['img_bytes']``, named by
    ``img_name``) into an RGB PIL image at ``sample['img']``; an unreadable file raises
    :class:`~mae_plugin.data.image.CorruptImageError`."""

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        if 'img_bytes' in sample:
            sample['img'] = load_image(sample['img_bytes'], sample.get('img_name'))
        else:
            sample['img'] = load_image(sample['img_path'])
        return sample


class MAERandomResizedCrop:
    """torchvision's RandomResizedCrop; the MAE recipe: ``size=224, scale=(0.2, 1.0)``, bicubic."""

    def __init__(
        self,
        size: int = 224,
        scale: tuple[float, float] = (0.2, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: str = 'bicubic',
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = InterpolationMode(interpolation)

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        image = sample['img']
        top, left, height, width = RandomResizedCrop.get_params(
            image, list(self.scale), list(self.ratio)
        )
        sample['img'] = F.resized_crop(
            image, top, left, height, width, list(self.size), self.interpolation
        )
        return sample


class MAERandomFlip:
    """Horizontal flip with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        if torch.rand(()) < self.prob:
            sample['img'] = F.hflip(sample['img'])
        return sample


class MAEMaskGenerator:
    """Draw the patch mask in the data pipeline; it travels with the sample as ``mask``, (L,) bool,
    True = masked.

    Args:
        input_size: side of the (square) network input in pixels.
        patch_size: side of a patch; must divide ``input_size``.
        mask_ratio: fraction of patches masked, in [0, 1).
        strategy: 'random' (the paper's default), 'block' or 'grid' (Table 1f).
    """

    def __init__(
        self,
        input_size: int = 224,
        patch_size: int = 16,
        mask_ratio: float = 0.75,
        strategy: str = 'random',
    ) -> None:
        if input_size % patch_size:
            raise ValueError(f'input_size {input_size} is not divisible by patch_size {patch_size}')
        if strategy not in STRATEGIES:
            raise ValueError(f'unknown mask strategy {strategy!r}; choose one of {STRATEGIES}')
        self.grid_size = (input_size // patch_size, input_size // patch_size)
        self.mask_ratio = check_mask_ratio(mask_ratio)
        self.strategy = strategy

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        sample['mask'] = make_mask(self.strategy, self.grid_size, self.mask_ratio)
        return sample


class MAEPackInputs:
    """Pack into ``dict(inputs=uint8 (3, H, W), data_samples=dict(mask, label))``.

    ``default_collate`` then stacks a batch into ``inputs`` (B, 3, H, W) and ``data_samples``
    holding ``mask`` (B, L) bool and ``label`` (B,) int64 (-1 where the image has no class).
    """

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        # the CHW view is made contiguous by default_collate's stack
        samples = {'label': torch.tensor(sample.get('gt_label', -1), dtype=torch.int64)}
        if 'mask' in sample:
            samples['mask'] = sample['mask']
        return {'inputs': to_uint8_tensor(sample['img']), 'data_samples': samples}
