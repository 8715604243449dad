"""Reading one image file: RGB PIL image in, or a uint8 tensor for evaluation views."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F


class CorruptImageError(OSError):
    """An image file listed by the dataset that cannot be decoded or read: corrupt, gone since
    the scan, unreadable (permissions, a folder in its place)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'cannot read image {path!r}: {reason}')
        self.path = path


# what reading or decoding an unreadable image raises (FileNotFoundError / PermissionError
# included: on large runs files vanish or lose their permissions after the scan, and must not end
# the run)
READ_ERRORS = (OSError, ValueError, Image.DecompressionBombError)


def sample_name(sample: dict[str, Any]) -> str:
    """What an error names for the image of ``sample``: its ``img_path``, else the shard
    member's ``img_name``, else ``<img_bytes>``."""
    return str(sample.get('img_path') or sample.get('img_name') or '<img_bytes>')


def read_encoded(sample: dict[str, Any]) -> bytes:
    """The encoded image file of ``sample``: ``sample['img_bytes']`` (a sample read from a
    shard), else the bytes of the file ``sample['img_path']``; a file that cannot be read is a
    :class:`CorruptImageError`."""
    if 'img_bytes' in sample:
        return bytes(sample['img_bytes'])
    path = sample['img_path']
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as err:
        raise CorruptImageError(path, str(err)) from err


def load_image(path: str | bytes, name: str | None = None) -> Image.Image:
    """The RGB image of the file ``path`` or of the encoded bytes ``path``; any failure to read
    it is a :class:`CorruptImageError` naming ``name`` (default: the path)."""
    name = name or (path if isinstance(path, str) else '<img_bytes>')
    try:
        with Image.open(io.BytesIO(path) if isinstance(path, bytes) else path) as image:
            return image.convert('RGB')
    except READ_ERRORS as err:
        raise CorruptImageError(name, str(err)) from err


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image (W x H) -> uint8 (3, H, W), one copy out of PIL (a CHW view of it)."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)


def read_center_crop(path: str | bytes, size: int) -> torch.Tensor:
    """Evaluation view of an image file: shorter side resized to ``size`` (bicubic), centre crop.
    Returns uint8 (3, size, size)."""
    image = F.resize(load_image(path), size, InterpolationMode.BICUBIC)
    return to_uint8_tensor(F.center_crop(image, size))
