"""Horizontal grey-level ramps written at every bit depth users bring (16-bit PNG/TIFF/PGM, grey
and RGB; 32-bit int and float TIFF) beside their 8-bit twins: what each reader gives for a deep
file must be what it gives for the twin, within 1 level."""

import functools
import os
import random
import shutil

import cv2
import numpy as np
import tifffile
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

import mae_plugin  # noqa: F401  (registers the datasets and transforms the configs name)
from mae_plugin.engine.registry import DATASETS
from tests.helpers.paths import ROOT

SIZE = 128  # a square ramp: a centre crop keeps its full width
RAMP = np.rint(np.arange(SIZE) * 255 / (SIZE - 1)).astype(np.uint8)  # 0 .. 255 left to right


def grey8() -> np.ndarray:
    """(SIZE, SIZE) uint8: every row is RAMP."""
    return np.tile(RAMP, (SIZE, 1))


def rgb8() -> np.ndarray:
    """(SIZE, SIZE, 3) uint8: red rises, green falls, blue rises to half."""
    grey = grey8()
    return np.stack([grey, 255 - grey, grey // 2], -1)


def _write(path: str, kind: str) -> None:
    """The deep file ``kind`` of the ramp; 16-bit values are the 8-bit ones x 257 (0 .. 65535),
    32-bit ones are chosen so that the stated rule gives the 8-bit ramp back exactly."""
    deep16 = grey8().astype(np.uint16) * 257
    rgb16 = rgb8().astype(np.uint16) * 257
    if kind in ('grey16.png', 'grey16.tif'):
        Image.fromarray(deep16).save(path)  # PIL mode I;16
    elif kind == 'grey16.pgm':
        cv2.imwrite(path, deep16)  # PIL mode I, values 0 .. 65535
    elif kind == 'rgb16.png':
        cv2.imwrite(path, rgb16[..., ::-1])  # OpenCV writes BGR
    elif kind == 'rgb16.tif':
        tifffile.imwrite(path, rgb16, photometric='rgb')
    elif kind == 'int32.tif':  # mode I beyond 16 bits: min-max
        tifffile.imwrite(path, grey8().astype(np.int32) * 1000 - 50000)
    elif kind == 'float.tif':  # mode F in [0, 1]: x 255
        tifffile.imwrite(path, grey8().astype(np.float32) / 255)
    elif kind == 'float_wide.tif':  # mode F outside [0, 1]: min-max
        tifffile.imwrite(path, grey8().astype(np.float32) * 0.5 - 20)
    else:
        raise ValueError(kind)


DEEP = {  # deep file -> its 8-bit twin
    'grey16.png': 'grey8.png',
    'grey16.tif': 'grey8.png',
    'grey16.pgm': 'grey8.png',
    'rgb16.png': 'rgb8.png',
    'rgb16.tif': 'rgb8.png',
    'int32.tif': 'grey8.png',
    'float.tif': 'grey8.png',
    'float_wide.tif': 'grey8.png',
}
FOLDER_KINDS = [k for k in DEEP if not k.endswith('.pgm')]  # scanned extensions only
PIL_MODES = {
    'grey16.png': 'I;16',
    'grey16.tif': 'I;16',
    'grey16.pgm': 'I',
    'rgb16.png': 'RGB',
    'rgb16.tif': 'RGB',
    'int32.tif': 'I',
    'float.tif': 'F',
    'float_wide.tif': 'F',
}


def write_ramps(folder: str, kinds=tuple(DEEP)) -> dict[str, tuple[str, str]]:
    """Write each deep kind and the twins into ``folder``: {kind: (deep path, twin path)}."""
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(grey8()).save(os.path.join(folder, 'grey8.png'))
    Image.fromarray(rgb8()).save(os.path.join(folder, 'rgb8.png'))
    paths = {}
    for kind in kinds:
        path = os.path.join(folder, kind)
        _write(path, kind)
        paths[kind] = (path, os.path.join(folder, DEEP[kind]))
    return paths


def write_twin_folders(root: str, kind: str) -> tuple[str, str]:
    """Two ImageNet-layout roots, ``train/ramp/{a,b}`` and ``val/ramp/{a,b}``: one of the deep
    ``kind``, one of its 8-bit twin. Returns (deep root, twin root)."""
    scratch = os.path.join(root, 'scratch')
    deep, twin = write_ramps(scratch, (kind,))[kind]
    roots = []
    for side, source in (('deep', deep), ('twin', twin)):
        side_root = os.path.join(root, f'{kind}-{side}')
        for split in ('train', 'val'):
            os.makedirs(os.path.join(side_root, split, 'ramp'))
            for name in ('a', 'b'):
                ext = os.path.splitext(source)[1]
                shutil.copy(source, os.path.join(side_root, split, 'ramp', name + ext))
        roots.append(side_root)
    shutil.rmtree(scratch)
    return roots[0], roots[1]


def hwc(image) -> np.ndarray:
    """A uint8 (3, H, W) tensor as an (H, W, 3) array; an array as it is."""
    return image.permute(1, 2, 0).numpy() if hasattr(image, 'permute') else np.asarray(image)


def assert_ramp(image, min_span: int = 200) -> None:
    """``image`` (uint8 (3, H, W) tensor or (H, W[, 3]) array): the mean of its rows (first
    channel) spans more than ``min_span`` levels and is monotonic (within 1) along the ramp."""
    grey = hwc(image).astype(np.float64)
    profile = (grey if grey.ndim == 2 else grey[..., 0]).mean(0)
    assert profile.max() - profile.min() > min_span, profile
    steps = np.diff(profile)
    assert (steps >= -1).all() or (steps <= 1).all(), profile  # a flip reverses it


def assert_close(deep, twin) -> None:
    """The two images have the same shape and differ by at most 1 level anywhere."""
    a, b = hwc(deep).astype(np.int32), hwc(twin).astype(np.int32)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1, np.abs(a - b).max()


# The configs whose loaders the contrast tests build: the demo's pretraining crop (header
# decoder, MAELoadRandomResizedCrop) and the linear probe's views (PIL decoder).
PRETRAIN = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
LINPROBE = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_linprobe_demo.py')


def twin_roots(tmp_path_factory, kind: str) -> tuple[str, str, str]:
    """(deep root, twin root, kind) in the ImageNet layout (``write_twin_folders``), in a new
    temporary folder: what the contrast tests' ``roots`` fixture gives, one deep kind at a time."""
    deep, twin = write_twin_folders(str(tmp_path_factory.mktemp('roots')), kind)
    return deep, twin, kind


@functools.cache
def build_dataset(config: str, loader: str, root: str):
    """The ``loader``'s dataset of ``config`` on ``root`` (unserialized: MMEngine's
    serialization runs a second-long ``gc.collect`` per dataset)."""
    cfg = Config.fromfile(config)
    dataset = cfg[loader].dataset
    dataset.update(data_root=root, serialize_data=False)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return DATASETS.build(dataset)


def seeded(seed: int, dataset, index: int = 0) -> torch.Tensor:
    """``dataset[index]['inputs']`` drawn with torch, random and NumPy seeded to ``seed``."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    return dataset[index]['inputs']
