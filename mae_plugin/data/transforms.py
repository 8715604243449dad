"""Pretraining transforms of one sample: load and crop -> flip -> mask -> pack.

The crop is RandomResizedCrop(224, (0.2, 1), bicubic), as the paper's recipe. Each transform is a
``sample -> sample`` callable on a plain dict (``img_path``, ``img``, ``mask``, ...), so any
runner chains them: MMEngine registers these very classes under the same names (configs write
``type='MAERandomResizedCrop'``), and a plain ``torchvision.transforms.Compose`` chains them as
well. Crop boxes are torchvision's (what the official code runs); images stay uint8 until the
batch is normalised on the training device.

Loading and cropping are one transform, :class:`MAELoadRandomResizedCrop` (what the configs and
the Lightning data module use): the box is drawn from the file's header and the JPEG decoded at
reduced scale when the crop is shrunk >= 2x (``mae_plugin.data.crop``), which a separate loader
cannot do without handing an undecoded image to the next transform. ``MAELoadImage`` followed by
``MAERandomResizedCrop`` (a full decode, then the crop on the PIL image) stays for pipelines that
need the whole image, and for older configs.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import InterpolationMode, RandomResizedCrop
from torchvision.transforms import functional as F

from ..models.masking import STRATEGIES, check_mask_ratio, make_mask
from .crop import RESAMPLE, decode_resized_crop, open_encoded
from .image import (
    READ_ERRORS,
    CorruptImageError,
    load_image,
    read_encoded,
    sample_name,
    to_uint8_tensor,
)


class MAELoadImage:
    """Read a sample's image file into an 8-bit RGB PIL image.

    16-bit and 32-bit files are brought to 8 bits by :func:`~mae_plugin.data.image.to_rgb`'s
    rule.
    """

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Read ``sample['img_path']``, or the encoded ``sample['img_bytes']``, into ``img``.

        Args:
            sample: holds ``img_path``, or ``img_bytes`` named by ``img_name``.

        Returns:
            ``sample`` with ``img``, a PIL RGB image.

        Raises:
            CorruptImageError: the file is unreadable or not an image, naming it.
        """
        if 'img_bytes' in sample:
            sample['img'] = load_image(bytes(sample['img_bytes']), sample_name(sample))
        else:
            sample['img'] = load_image(sample['img_path'])
        return sample


class MAELoadRandomResizedCrop:
    """``MAELoadImage`` + ``MAERandomResizedCrop`` decoding only what the crop needs.

    The box is torchvision's ``RandomResizedCrop.get_params`` on the header's size (the same
    random draws, so the same box as a full decode would get); a JPEG box shrunk >= 2x is
    decoded at 1/2, 1/4 or 1/8 scale (:func:`~mae_plugin.data.crop.decode_resized_crop`).

    Args:
        size: side of the square output, or (height, width).
        scale: range of the box's area over the image's.
        ratio: range of the box's aspect ratio (width / height).
        interpolation: 'bilinear' or 'bicubic' (``crop.RESAMPLE``: both PIL and torch have it).
    """

    def __init__(
        self,
        size: int = 224,
        scale: tuple[float, float] = (0.2, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: str = 'bicubic',
    ) -> None:
        if interpolation not in RESAMPLE:
            raise ValueError(
                f'MAELoadRandomResizedCrop: interpolation {interpolation!r} is not one of '
                f'{sorted(RESAMPLE)}; MAELoadImage + MAERandomResizedCrop take any'
            )
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale, self.ratio, self.interpolation = tuple(scale), tuple(ratio), interpolation

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Draw a box, decode it, resize it.

        Args:
            sample: holds ``img_bytes`` or the file ``img_path``.

        Returns:
            ``sample`` with ``img``, uint8 (3, size, size), and ``crop_box``, (top, left,
            height, width) in the full image's pixels.

        Raises:
            CorruptImageError: the file is unreadable or corrupt, naming it.
        """
        data, name = read_encoded(sample), sample_name(sample)
        try:
            with open_encoded(data) as image:  # header only
                box = RandomResizedCrop.get_params(image, list(self.scale), list(self.ratio))
                sample['crop_box'] = tuple(box)
                sample['img'] = decode_resized_crop(
                    data, image, box, self.size, self.interpolation, name
                )
        except CorruptImageError:
            raise
        except READ_ERRORS as err:
            raise CorruptImageError(name, str(err)) from err
        return sample


class MAERandomResizedCrop:
    """torchvision's RandomResizedCrop; the MAE recipe: ``size=224, scale=(0.2, 1.0)``, bicubic.

    Args:
        size: side of the square output, or (height, width).
        scale: range of the box's area over the image's.
        ratio: range of the box's aspect ratio (width / height).
        interpolation: a torchvision ``InterpolationMode`` value ('bicubic', 'bilinear', ...).
    """

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
        """Replace ``sample['img']`` (a PIL image or a tensor) by a random crop of it."""
        image = sample['img']
        top, left, height, width = RandomResizedCrop.get_params(
            image, list(self.scale), list(self.ratio)
        )
        sample['img'] = F.resized_crop(
            image, top, left, height, width, list(self.size), self.interpolation
        )
        return sample


class MAERandomFlip:
    """Horizontal flip with probability ``prob``, of a PIL image or a (3, H, W) tensor."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Flip ``sample['img']`` with probability ``prob``, drawn from torch's global generator."""
        if torch.rand(()) < self.prob:
            sample['img'] = F.hflip(sample['img'])
        return sample


class MAEMaskGenerator:
    """Draw the patch mask in the data pipeline, so that it travels with the sample.

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
        """Add ``sample['mask']``, (L,) bool, True = masked, drawn from the global generators."""
        sample['mask'] = make_mask(self.strategy, self.grid_size, self.mask_ratio)
        return sample


class MAEPackInputs:
    """Pack a sample into ``dict(inputs=uint8 (3, H, W), data_samples=dict(mask, label))``.

    ``default_collate`` then stacks a batch into ``inputs`` (B, 3, H, W) and ``data_samples``
    holding ``mask`` (B, L) bool and ``label`` (B,) int64 (-1 where the image has no class).
    """

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Pack ``sample``.

        Args:
            sample: ``img``, an RGB PIL image or already a uint8 (3, H, W) tensor; ``mask``
                and ``gt_label`` when present.

        Returns:
            ``inputs`` (3, H, W) uint8 and ``data_samples`` with ``label`` () int64 (-1 without
            ``gt_label``) and ``mask`` (L,) bool when the sample has one.
        """
        # the CHW view is made contiguous by default_collate's stack
        samples = {'label': torch.tensor(sample.get('gt_label', -1), dtype=torch.int64)}
        if 'mask' in sample:
            samples['mask'] = sample['mask']
        image = sample['img']
        inputs = image if isinstance(image, torch.Tensor) else to_uint8_tensor(image)
        return {'inputs': inputs, 'data_samples': samples}
