"""Reading one image file: RGB PIL image in, or a uint8 tensor for evaluation views."""

from __future__ import annotations

import io

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


def load_image(path: str | bytes, name: str | None = None) -> Image.Image:
    """The RGB image of ``path``, or of an encoded image file's bytes (``name`` says where they
    came from); any failure to read it is a :class:`CorruptImageError`."""
    try:
        with Image.open(io.BytesIO(path) if isinstance(path, bytes) else path) as image:
            return image.convert('RGB')
    # FileNotFoundError / PermissionError included: on large runs files vanish or lose their
    # permissions after the scan, and must not end the run
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise CorruptImageError(
            name or (path if isinstance(path, str) else '<bytes>'), str(err)
        ) from err


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image (W x H) -> uint8 (3, H, W), one copy out of PIL (a CHW view of it)."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)


def read_center_crop(path: str | bytes, size: int) -> torch.Tensor:
    """Evaluation view of an image file: shorter side resized to ``size`` (bicubic), centre crop.
    Returns uint8 (3, size, size)."""
    image = F.resize(load_image(path), size, InterpolationMode.BICUBIC)
    return to_uint8_tensor(F.center_crop(image, size))
