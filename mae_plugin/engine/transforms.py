"""Pretraining pipeline: load -> RandomResizedCrop(224, (0.2, 1), bicubic) -> flip -> mask -> pack.

Crops and flips come from torchvision (what the official code runs), on PIL images; each
transform is a ``results -> results`` callable, the contract of MMEngine's ``Compose``. Images stay
uint8 until the data preprocessor normalises the whole batch on the training device.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, RandomResizedCrop
from torchvision.transforms import functional as F

from ..models.masking import STRATEGIES, check_mask_ratio, make_mask
from .registry import TRANSFORMS


class CorruptImageError(OSError):
    """An image file listed by the dataset that cannot be decoded or read: corrupt, gone since
    the scan, unreadable (permissions, a folder in its place)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'cannot read image {path!r}: {reason}')
        self.path = path


@TRANSFORMS.register_module()
class MAELoadImage:
    """Read ``results['img_path']`` into an RGB PIL image at ``results['img']``."""

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        path = results['img_path']
        try:
            with Image.open(path) as image:
                results['img'] = image.convert('RGB')
        # FileNotFoundError / PermissionError included: on large runs files vanish or lose
        # their permissions after the scan, and must not end the run
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise CorruptImageError(path, str(err)) from err
        return results


def read_center_crop(path: str, size: int) -> torch.Tensor:
    """Evaluation view of an image file: shorter side resized to ``size`` (bicubic), centre crop.
    Returns uint8 (3, size, size)."""
    image = MAELoadImage()(dict(img_path=path))['img']
    image = F.center_crop(F.resize(image, size, InterpolationMode.BICUBIC), size)
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)


@TRANSFORMS.register_module()
class MAERandomResizedCrop:
    """torchvision's RandomResizedCrop; the MAE recipe is ``size=224, scale=(0.2, 1.0)``, bicubic."""

    def __init__(self, size: int = 224, scale: tuple[float, float] = (0.2, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 interpolation: str = 'bicubic') -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = InterpolationMode(interpolation)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        image = results['img']
        top, left, height, width = RandomResizedCrop.get_params(image, list(self.scale),
                                                                list(self.ratio))
        results['img'] = F.resized_crop(image, top, left, height, width, list(self.size),
                                        self.interpolation)
        return results


@TRANSFORMS.register_module()
class MAERandomFlip:
    """Horizontal flip with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if torch.rand(()) < self.prob:
            results['img'] = F.hflip(results['img'])
        return results


@TRANSFORMS.register_module()
class MAEMaskGenerator:
    """Draw the patch mask in the data pipeline; it travels with the sample as ``mask``.

    Args:
        input_size: side of the (square) network input in pixels.
        patch_size: side of a patch; must divide ``input_size``.
        mask_ratio: fraction of patches masked, in [0, 1).
        strategy: 'random' (the paper's default), 'block' or 'grid' (Table 1f).
    """

    def __init__(self, input_size: int = 224, patch_size: int = 16, mask_ratio: float = 0.75,
                 strategy: str = 'random') -> None:
        if input_size % patch_size:
            raise ValueError(f'input_size {input_size} is not divisible by patch_size '
                             f'{patch_size}')
        if strategy not in STRATEGIES:
            raise ValueError(f'unknown mask strategy {strategy!r}; choose one of {STRATEGIES}')
        self.grid_size = (input_size // patch_size, input_size // patch_size)
        self.mask_ratio = check_mask_ratio(mask_ratio)
        self.strategy = strategy

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        results['mask'] = make_mask(self.strategy, self.grid_size, self.mask_ratio)
        return results


@TRANSFORMS.register_module()
class MAEPackInputs:
    """Pack into ``dict(inputs=uint8 (3, H, W), data_samples=dict(mask, label))``.

    ``default_collate`` then stacks a batch into ``inputs`` (B, 3, H, W) and ``data_samples``
    holding ``mask`` (B, L) bool and ``label`` (B,) int64 (-1 where the image has no class).
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        # one copy out of PIL; the CHW view is made contiguous by default_collate's stack
        inputs = torch.from_numpy(np.array(results['img'], dtype=np.uint8)).permute(2, 0, 1)
        samples = {'label': torch.tensor(results.get('gt_label', -1), dtype=torch.int64)}
        if 'mask' in results:
            samples['mask'] = results['mask']
        return {'inputs': inputs, 'data_samples': samples}
