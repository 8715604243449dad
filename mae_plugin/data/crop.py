"""RandomResizedCrop straight from the encoded file, decoding only as much as the crop keeps.

The box is drawn from the header. Three paths, each producing uint8 (3, H, W):

- JPEG whose box is shrunk >= 2x to the output: libjpeg decodes at 1/2, 1/4 or 1/8 scale
  (PIL ``draft``; the DCT reduction replaces the first 2-8x of the antialiased shrink), the box
  is mapped into the reduced image with its fractional edges kept, and PIL resizes that box
  (``Image.resize(box=...)``) with the requested filter: the crop's geometry is exact, the pixels
  differ from a full decode only by the DCT reduction.
- any other RGB JPEG: a full decode by ``torchvision.io.decode_jpeg`` (same libjpeg-turbo, the
  same pixels as PIL's full decode, and faster), the integer box sliced out (a view) and resized
  by torch's uint8 antialiased kernel (within 1 grey level of PIL's resize).
- other files (PNG, BMP, TIFF, ...) and JPEGs that are not YCbCr (greyscale, CMYK): PIL's full
  decode and conversion to 8-bit RGB by :func:`~mae_plugin.data.image.to_rgb` (16-bit by the bit
  depth, 32-bit by its stated rule, never clipped), then the same slice and torch resize.
"""

from __future__ import annotations

import io

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.io import ImageReadMode, decode_jpeg

from .image import CorruptImageError, to_rgb, to_uint8_tensor

# the filters that both PIL and torch's uint8 antialiased resize implement
RESAMPLE = {'bilinear': Image.Resampling.BILINEAR, 'bicubic': Image.Resampling.BICUBIC}


def draft_scale(box_hw: tuple[int, int], size: tuple[int, int]) -> int:
    """The largest JPEG decode reduction that keeps the box at least ``size`` on both sides.

    Args:
        box_hw: (h, w) of the box in the full image's pixels.
        size: (h, w) of the output.

    Returns:
        8, 4 or 2; 1 where the box is shrunk less than 2x.
    """
    for scale in (8, 4, 2):
        if box_hw[0] >= scale * size[0] and box_hw[1] >= scale * size[1]:
            return scale
    return 1


def _resize(chw: torch.Tensor, size: tuple[int, int], interpolation: str) -> torch.Tensor:
    """uint8 (3, h, w) -> uint8 (3, *size), antialiased as PIL resizes."""
    if tuple(chw.shape[1:]) == tuple(size):
        return chw
    return F.interpolate(chw[None], size, mode=interpolation, antialias=True)[0]


def decode_resized_crop(
    data: bytes,
    image: Image.Image,
    box: tuple[int, int, int, int],
    size: tuple[int, int],
    interpolation: str,
    name: str,
) -> torch.Tensor:
    """Decode a box of an encoded image and resize it, decoding no more than the box needs.

    Args:
        data: the encoded file.
        image: ``data`` opened by PIL, header read and nothing decoded yet.
        box: (top, left, height, width) in the full image's pixels.
        size: (h, w) of the output.
        interpolation: 'bilinear' or 'bicubic'.
        name: the file named by a :class:`CorruptImageError` when decoding fails.

    Returns:
        uint8 (3, h, w).

    Raises:
        CorruptImageError: the file cannot be decoded.
    """
    top, left, height, width = box
    scale = draft_scale((height, width), size) if image.format == 'JPEG' else 1
    if scale > 1:
        # the decoder will run at 1/scale (draft picks the largest reduction that keeps the
        # requested size); draft answers the full image's extent in reduced pixels
        full_width = image.width
        drafted = image.draft('RGB', (image.width // scale, image.height // scale))
        scale = full_width / drafted[1][2] if drafted else 1
        image.load()
        reduced = to_rgb(image, name)
        crop = (left / scale, top / scale, (left + width) / scale, (top + height) / scale)
        out = reduced.resize(size[::-1], RESAMPLE[interpolation], box=crop)
        return to_uint8_tensor(out)
    if image.format == 'JPEG' and image.mode == 'RGB':
        try:
            full = decode_jpeg(
                torch.frombuffer(bytearray(data), dtype=torch.uint8), ImageReadMode.RGB
            )
        except RuntimeError as err:  # torchvision's error for a corrupt or truncated JPEG
            raise CorruptImageError(name, str(err)) from err
    else:
        full = to_uint8_tensor(to_rgb(image, name))
    return _resize(full[:, top : top + height, left : left + width], size, interpolation)


def open_encoded(data: bytes) -> Image.Image:
    """PIL's lazy image of ``data``: header read (size, mode, format), nothing decoded."""
    return Image.open(io.BytesIO(data))
