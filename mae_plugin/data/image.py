"""Reading one image file: RGB PIL image in, or a uint8 tensor for evaluation views.

Every path that reads an image (training crops, evaluation views, the kNN folder, reconstruction
pictures, shard packing) turns PIL's image into 8-bit RGB with :func:`to_rgb`, so a 16-bit or
32-bit file keeps its contrast wherever it is read (PIL's ``convert('RGB')`` clips them white).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F


class CorruptImageError(OSError):
    """An image file listed by the dataset that cannot be decoded or read.

    Corrupt, gone since the scan, or unreadable (permissions, a folder in its place).

    Args:
        path: the file, named by the message and kept at ``path``.
        reason: what went wrong.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'cannot read image {path!r}: {reason}')
        self.path = path


# what reading or decoding an unreadable image raises (FileNotFoundError / PermissionError
# included: on large runs files vanish or lose their permissions after the scan, and must not end
# the run)
READ_ERRORS = (OSError, ValueError, Image.DecompressionBombError)


def sample_name(sample: dict[str, Any]) -> str:
    """What an error names for the image of ``sample``.

    Its ``img_path``, else the shard member's ``img_name``, else ``<img_bytes>``.
    """
    return str(sample.get('img_path') or sample.get('img_name') or '<img_bytes>')


def read_encoded(sample: dict[str, Any]) -> bytes:
    """The encoded image file of ``sample``, not decoded.

    ``sample['img_bytes']`` (a sample read from a shard), else the bytes of the file
    ``sample['img_path']``.

    Raises:
        CorruptImageError: the file cannot be read.
    """
    if 'img_bytes' in sample:
        return bytes(sample['img_bytes'])
    path = sample['img_path']
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as err:
        raise CorruptImageError(path, str(err)) from err


SIXTEEN_BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N')  # PIL's 16-bit grey modes
SAMPLE_FORMAT, BITS_PER_SAMPLE = 339, 258  # TIFF tags


def to_rgb(image: Image.Image, name: str) -> Image.Image:
    """The 8-bit RGB image of ``image``, decoded here if PIL has not yet.

    One rule per mode:

    - 'RGB': ``image`` itself (copied only where PIL maps the file). Other 8-bit modes (L, P,
      LA, RGBA, CMYK, YCbCr, ...): PIL's ``convert('RGB')``. 16-bit RGB(A) PNG and TIFF files
      open as 'RGB'/'RGBA': PIL keeps each value's high byte, the 16-bit rule below.
    - 16-bit grey ('I;16', 'I;16L', 'I;16B', 'I;16N'): ``value >> 8``, by the bit depth: the
      full 0..65535 range onto 0..255, the same scale for every image (a dark image stays dark).
    - 32-bit integer ('I'; an unsigned 32-bit TIFF is read unsigned): values all within 0..65535
      are 16-bit data (PIL's mode for 16-bit PGM/PPM and signed 16-bit TIFF) and follow the
      16-bit rule; otherwise the image is stretched, its min to 0 and its max to 255 (rounded;
      a constant image is 0).
    - 32-bit float ('F'): values all within [0, 1] are multiplied by 255 (rounded); otherwise
      stretched min to max as 'I'.

    Grey results are repeated over the three channels.

    Raises:
        CorruptImageError: a mode that cannot become RGB, or a NaN or infinite pixel of a
            float image, naming ``name``.
    """
    mode = image.mode
    if mode == 'RGB':
        image.load()
        return image.copy() if image.readonly else image  # readonly: a map of the file
    if mode in SIXTEEN_BIT or mode in ('I', 'F'):
        return Image.merge('RGB', [Image.fromarray(_deep_to_uint8(image, name))] * 3)
    try:
        return image.convert('RGB')
    except ValueError as err:
        raise CorruptImageError(name, f'mode {mode!r} cannot be read as RGB ({err})') from err


def _deep_to_uint8(image: Image.Image, name: str) -> np.ndarray:
    """(H, W) uint8 of a 16-bit, 32-bit integer or float grey image, by :func:`to_rgb`'s rule."""
    values = np.asarray(image)
    if image.mode in SIXTEEN_BIT:
        return (values >> 8).astype(np.uint8)
    if image.mode == 'F':
        bad = values.size - int(np.isfinite(values).sum())
        if bad:
            raise CorruptImageError(name, f"mode 'F' image with {bad} NaN or infinite pixels")
        low, high = values.min(), values.max()
        if low >= 0 and high <= 1:
            return np.rint(values * 255).astype(np.uint8)
    else:
        if _unsigned_32(image):
            values = values.view(np.uint32)  # PIL decodes them as int32: 2**31 and up wrap
        low, high = values.min(), values.max()
        if low >= 0 and high <= 65535:
            return (values >> 8).astype(np.uint8)
    if high == low:
        return np.zeros(values.shape, np.uint8)
    return np.rint((values - np.float64(low)) * (255 / (float(high) - float(low)))).astype(np.uint8)


def _unsigned_32(image: Image.Image) -> bool:
    """Whether ``image`` (mode 'I') is a TIFF of unsigned 32-bit samples."""
    tags = getattr(image, 'tag_v2', None)
    if image.format != 'TIFF' or tags is None:
        return False
    bits, sample_format = tags.get(BITS_PER_SAMPLE, 0), tags.get(SAMPLE_FORMAT, 1)
    # a tag holds one value per channel: a tuple
    return np.ravel(bits)[:1].tolist() == [32] and np.ravel(sample_format)[:1].tolist() == [1]


def load_image(path: str | bytes, name: str | None = None) -> Image.Image:
    """The 8-bit RGB image (:func:`to_rgb`) of the file ``path`` or of the encoded bytes ``path``.

    Raises:
        CorruptImageError: any failure to read it, naming ``name`` (default: the path).
    """
    name = name or (path if isinstance(path, str) else '<img_bytes>')
    try:
        with Image.open(io.BytesIO(path) if isinstance(path, bytes) else path) as image:
            return to_rgb(image, name)
    except CorruptImageError:
        raise
    except READ_ERRORS as err:
        raise CorruptImageError(name, str(err)) from err


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image (W x H) -> uint8 (3, H, W), one copy out of PIL (a CHW view of it)."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)


def read_center_crop(path: str | bytes, size: int) -> torch.Tensor:
    """Evaluation view of an image file: shorter side resized to ``size`` (bicubic), centre crop.

    Returns:
        uint8 (3, size, size).

    Raises:
        CorruptImageError: the file cannot be read.
    """
    image = F.resize(load_image(path), size, InterpolationMode.BICUBIC)
    return to_uint8_tensor(F.center_crop(image, size))
