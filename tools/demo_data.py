"""Demo images: real photographs shipped inside scikit-image, and scikit-learn's handwritten
digits, written as image folders (``tools/prepare_demo_data.py``; the tests and
``benchmarks/data.py`` read them too).

Nothing is downloaded: every picture below is a file of the installed ``skimage`` or
``sklearn`` package. Those two (and scipy, which scikit-image brings) are the ``demo`` extra,
imported in the functions that use them: the digits need only scikit-learn, the rest only
scikit-image.
"""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from mae_plugin.fileio import atomic_open, atomic_write_text

# skimage.data loaders whose files ship with the package (photographs, micrographs, scans).
DEMO_IMAGES = (
    'astronaut',
    'brick',
    'camera',
    'cell',
    'chelsea',
    'clock',
    'coffee',
    'coins',
    'grass',
    'gravel',
    'hubble_deep_field',
    'immunohistochemistry',
    'microaneurysms',
    'moon',
    'page',
    'retina',
    'rocket',
    'text',
)


def save_image(image: Image.Image, path: str, **options) -> None:
    """``image.save(path)``, atomically: a killed run leaves no truncated image that the next
    run, which keeps existing files, would take as written (not fsynced: regenerable)."""
    ext = os.path.splitext(path)[1].lower()
    with atomic_open(path, durable=False) as f:
        image.save(f, format=Image.registered_extensions()[ext], **options)


def demo_arrays() -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8 RGB array of every demo photograph."""
    from skimage import data
    from skimage.util import img_as_ubyte

    arrays = {name: getattr(data, name)() for name in DEMO_IMAGES}
    left, right, _ = data.stereo_motorcycle()
    arrays.update(motorcycle_left=left, motorcycle_right=right)
    out = {}
    for name, image in arrays.items():
        image = img_as_ubyte(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        out[name] = np.ascontiguousarray(image[..., :3])
    return out


def prepare_knn_split(out_dir: str, tile: int = 64, quality: int = 95) -> tuple[int, int]:
    """A labelled split for the kNN monitor: each photograph is a class, cut into a 4 x 4 grid
    of ``tile``-pixel tiles (after a resize + centre crop to 4 * tile); the 4 tiles on a
    diagonal pattern go to ``knn/val/<name>/``, the other 12 to ``knn/train/<name>/``.
    Returns the (train, val) counts; existing files are kept."""
    counts = [0, 0]
    for name, array in sorted(demo_arrays().items()):
        image = Image.fromarray(array)
        image = F.center_crop(F.resize(image, 4 * tile, InterpolationMode.BICUBIC), 4 * tile)
        for row in range(4):
            for col in range(4):
                is_val = (row + col) % 4 == 0
                folder = os.path.join(out_dir, 'knn', 'val' if is_val else 'train', name)
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, f'r{row}c{col}.jpg')
                if not os.path.exists(path):
                    box = (col * tile, row * tile, (col + 1) * tile, (row + 1) * tile)
                    save_image(image.crop(box), path, quality=quality)
                counts[is_val] += 1
    return counts[0], counts[1]


def prepare_demo_images(out_dir: str, split: str = 'train', quality: int = 95) -> list[str]:
    """Write the demo photographs as ``out_dir/split/<name>.jpg``; returns the written paths.

    Existing files are kept (the call is cheap to repeat)."""
    folder = os.path.join(out_dir, split)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, image in sorted(demo_arrays().items()):
        path = os.path.join(folder, f'{name}.jpg')
        if not os.path.exists(path):
            save_image(Image.fromarray(image), path, quality=quality)
        paths.append(path)
    return paths


def prepare_digits(out_dir: str, size: int = 32, val_every: int = 5) -> tuple[int, int]:
    """scikit-learn's 1,797 handwritten digits (8 x 8 pixels, 17 grey levels, ink bright on
    black) as a labelled image folder ``out_dir/digits/{train,val}/<digit>/<index>.png``,
    enlarged to ``size`` pixels (bicubic) and stored grey (lossless). Deterministic split: the
    n-th sample of each digit, in the package's order, validates when n % val_every ==
    val_every - 1 (one in five; every digit in both splits). Returns the (train, val) counts;
    existing files are kept."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.round(digits.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8), 0-16 -> 0-255
    seen = [0] * 10
    counts = [0, 0]
    for index, (image, label) in enumerate(zip(pixels, digits.target, strict=True)):
        is_val = seen[label] % val_every == val_every - 1
        seen[label] += 1
        folder = os.path.join(out_dir, 'digits', 'val' if is_val else 'train', str(label))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f'{index:04d}.png')
        if not os.path.exists(path):
            big = Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)
            save_image(big, path)
        counts[is_val] += 1
    return counts[0], counts[1]


SEG_CLASSES = ('dark', 'mid-dark', 'mid-bright', 'bright')


def prepare_seg_split(
    out_dir: str, short_side: int = 128, num_val: int = 4, quality: int = 95
) -> tuple[int, int]:
    """A tiny semantic-segmentation set in the ADE20K layout under ``out_dir/seg``: the demo
    photographs (shorter side ``short_side``) as ``images/{training,validation}/<name>.jpg`` and
    label maps from a classical segmentation of each photograph, multi-Otsu thresholds of its
    grey levels into the 4 ``SEG_CLASSES`` (labels 1-4; a 2-pixel border is 0 = ignore), as
    ``annotations/<split>/<name>.png``. The last ``num_val`` photographs (by name) validate.
    Returns the (training, validation) counts; existing files are kept."""
    from skimage.color import rgb2gray
    from skimage.filters import threshold_multiotsu

    arrays = demo_arrays()
    names = sorted(arrays)
    for i, name in enumerate(names):
        split = 'validation' if i >= len(names) - num_val else 'training'
        image_path = os.path.join(out_dir, 'seg', 'images', split, f'{name}.jpg')
        label_path = os.path.join(out_dir, 'seg', 'annotations', split, f'{name}.png')
        if os.path.exists(image_path) and os.path.exists(label_path):
            continue
        image = F.resize(Image.fromarray(arrays[name]), short_side, InterpolationMode.BICUBIC)
        grey = rgb2gray(np.asarray(image))
        labels = (np.digitize(grey, threshold_multiotsu(grey, classes=4)) + 1).astype(np.uint8)
        labels[:2], labels[-2:], labels[:, :2], labels[:, -2:] = 0, 0, 0, 0
        for path in (image_path, label_path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        save_image(image, image_path, quality=quality)
        save_image(Image.fromarray(labels), label_path)
    return len(names) - num_val, num_val


def _coin_instances(
    grey: np.ndarray, min_area: int = 60, max_share: float = 0.03
) -> list[tuple[list[float], list[float], int]]:
    """Classical instance segmentation of scikit-image's ``coins``: Otsu threshold of the
    smoothed image minus its background (a wide blur, so the dim coins on the left count too),
    opened, holes filled, connected regions; regions touching the border or larger than
    ``max_share`` of the image are not coins. Returns (polygon, [x, y, w, h], area) per coin."""
    from scipy import ndimage
    from skimage import filters, measure, morphology

    detail = filters.gaussian(grey, sigma=1.5) - filters.gaussian(grey, sigma=15)
    mask = ndimage.binary_opening(
        detail > filters.threshold_otsu(detail), structure=morphology.disk(2)
    )
    mask = ndimage.binary_fill_holes(mask)
    height, width = grey.shape
    instances = []
    for region in measure.regionprops(measure.label(mask)):
        y0, x0, y1, x1 = region.bbox
        if (
            region.area < min_area
            or region.area > max_share * height * width
            or y0 == 0
            or x0 == 0
            or y1 == height
            or x1 == width
        ):
            continue
        contour = max(measure.find_contours(np.pad(region.image, 1).astype(float), 0.5), key=len)
        polygon = [float(v) for y, x in contour[::2] for v in (x + x0 - 1, y + y0 - 1)]
        instances.append(
            (polygon, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], int(region.area))
        )
    return instances


def prepare_coco_split(out_dir: str, scale: float = 0.5, quality: int = 95) -> tuple[int, int]:
    """A tiny COCO instance-segmentation set under ``out_dir/coco`` from scikit-image's
    ``coins`` photograph: the photograph and its mirror images (train: as is, left-right,
    up-down; val: rotated 180 degrees), each coin an instance of category 'coin' with polygon,
    box and area from a classical segmentation, in ``annotations/instances_{train,val}.json``
    and ``{train,val}/*.jpg`` (the real COCO layout). Returns the (train, val) image counts."""
    from skimage import data
    from skimage.transform import rescale

    coins = (rescale(data.coins(), scale, anti_aliasing=True) * 255).astype(np.uint8)
    views = {
        'train': {'coins': coins, 'coins_lr': coins[:, ::-1], 'coins_ud': coins[::-1]},
        'val': {'coins_rot180': coins[::-1, ::-1]},
    }
    for split, images in views.items():
        os.makedirs(os.path.join(out_dir, 'coco', split), exist_ok=True)
        coco = dict(images=[], annotations=[], categories=[dict(id=1, name='coin')])
        for image_id, (name, grey) in enumerate(sorted(images.items()), start=1):
            grey = np.ascontiguousarray(grey)
            save_image(
                Image.fromarray(grey).convert('RGB'),
                os.path.join(out_dir, 'coco', split, f'{name}.jpg'),
                quality=quality,
            )
            coco['images'].append(
                dict(
                    id=image_id, file_name=f'{name}.jpg', height=grey.shape[0], width=grey.shape[1]
                )
            )
            for polygon, box, area in _coin_instances(grey):
                coco['annotations'].append(
                    dict(
                        id=len(coco['annotations']) + 1,
                        image_id=image_id,
                        category_id=1,
                        segmentation=[polygon],
                        bbox=box,
                        area=area,
                        iscrowd=0,
                    )
                )
        atomic_write_text(
            json.dumps(coco),
            os.path.join(out_dir, 'coco', 'annotations', f'instances_{split}.json'),
        )
    return len(views['train']), len(views['val'])
