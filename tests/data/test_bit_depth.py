"""16-bit and 32-bit images keep their contrast on every path that reads images: the training
crop (header decoder and PIL decoder, built from the configs), the evaluation view, the kNN
folder, the reconstruction hook and callback, and the Lightning dataset. Each deep file must give
what its 8-bit twin gives, within 1 level: before the one decode function, PIL's
``convert('RGB')`` clipped modes I;16, I and F, and a 16-bit grey ramp trained as white."""

import functools
import os
import random
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import tifffile
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

import mae_plugin  # noqa: F401
from mae_plugin.data.image import CorruptImageError, load_image, read_center_crop, to_rgb
from mae_plugin.engine.hooks.reconstruction import ReconstructionVisHook
from mae_plugin.engine.registry import DATASETS
from mae_plugin.lightning.callbacks import ReconstructionCallback
from mae_plugin.lightning.data import MAEDataModule
from mae_plugin.monitor.knn import KNNProbe
from tests.helpers.models import tiny_mae
from tests.helpers.paths import ROOT
from tests.helpers.ramps import (
    DEEP,
    FOLDER_KINDS,
    PIL_MODES,
    assert_close,
    assert_ramp,
    write_ramps,
    write_twin_folders,
)

PRETRAIN = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')  # MAELoadRandomResizedCrop
LINPROBE = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_linprobe_demo.py')  # PIL decoder


@pytest.fixture(scope='module')
def ramps(tmp_path_factory):
    return write_ramps(str(tmp_path_factory.mktemp('ramps')))


@pytest.fixture(scope='module', params=FOLDER_KINDS)
def roots(request, tmp_path_factory):
    """(deep root, twin root, kind) in the ImageNet layout, one deep kind at a time."""
    deep, twin = write_twin_folders(str(tmp_path_factory.mktemp('roots')), request.param)
    return deep, twin, request.param


@pytest.mark.parametrize('kind', list(DEEP))
def test_every_depth_reads_as_its_8_bit_twin(ramps, kind):
    deep, twin = ramps[kind]
    assert Image.open(deep).mode == PIL_MODES[kind]  # the case PIL gives us
    image = load_image(deep)
    assert image.mode == 'RGB'
    assert_close(np.asarray(image), np.asarray(load_image(twin)))
    assert_ramp(np.asarray(image))
    view = read_center_crop(deep, 64)
    assert_close(view, read_center_crop(twin, 64))
    assert_ramp(view)


def test_16_bit_scales_by_its_depth_not_per_image(tmp_path):
    """Any 16-bit value v reads as v >> 8 (within 1 of the 8-bit round(v / 257)), grey and RGB,
    PNG and TIFF alike; a dark 16-bit image stays dark (no per-image stretch)."""
    values = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (8, 1))
    rgb = np.stack([values, values[:, ::-1], values // 3], -1)
    cv2.imwrite(str(tmp_path / 'rgb.png'), rgb[..., ::-1])  # OpenCV writes BGR
    tifffile.imwrite(tmp_path / 'rgb.tif', rgb, photometric='rgb')
    for ext in ('png', 'tif'):
        Image.fromarray(values).save(tmp_path / f'grey.{ext}')
        Image.fromarray(values // 16).save(tmp_path / f'dark.{ext}')  # 0 .. 4095
        for name, deep in ((f'grey.{ext}', np.stack([values] * 3, -1)), (f'rgb.{ext}', rgb)):
            image = np.asarray(load_image(str(tmp_path / name))).astype(np.int32)
            assert np.array_equal(image, deep >> 8), name
            assert np.abs(image - np.rint(deep / 257)).max() <= 1, name
        dark = np.asarray(load_image(str(tmp_path / f'dark.{ext}')))
        assert dark.max() == 4095 >> 8


def test_32_bit_integers_beyond_16_bits_and_unsigned_are_stretched(tmp_path):
    """Mode I beyond 0..65535 maps min -> 0, max -> 255; an unsigned 32-bit TIFF (which PIL
    reads as signed) is read unsigned, so values above 2**31 do not wrap."""
    ramp = np.linspace(0, 4e9, 256).astype(np.uint32)
    tifffile.imwrite(tmp_path / 'u32.tif', np.tile(ramp, (8, 1)))
    grey = np.asarray(load_image(str(tmp_path / 'u32.tif')))[0, :, 0].astype(np.int32)
    assert grey[0] == 0 and grey[-1] == 255 and (np.diff(grey) >= 0).all()
    assert np.abs(grey - np.arange(256)).max() <= 1
    tifffile.imwrite(tmp_path / 'flat.tif', np.full((4, 4), 10**6, np.int32))
    assert np.asarray(load_image(str(tmp_path / 'flat.tif'))).max() == 0  # constant: 0


def test_non_finite_floats_and_unknown_modes_are_errors_naming_file_and_mode(tmp_path):
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    image[2, 3] = np.nan
    path = str(tmp_path / 'nan.tif')
    tifffile.imwrite(path, image)
    with pytest.raises(CorruptImageError, match=r"nan\.tif.*mode 'F'.*1 NaN or infinite"):
        load_image(path)
    with pytest.raises(CorruptImageError, match=r"nan\.tif.*mode 'F'"):
        read_center_crop(path, 8)
    # a mode PIL cannot turn into RGB (no file format holds 'La': the decode function itself)
    with pytest.raises(CorruptImageError, match=r"x\.png.*mode 'La'"):
        to_rgb(Image.new('La', (4, 4)), 'x.png')


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
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    return dataset[index]['inputs']


@pytest.mark.parametrize('config', [PRETRAIN, LINPROBE], ids=['header-decoder', 'pil-decoder'])
def test_training_crops_of_the_configs_keep_the_contrast(roots, config):
    deep_root, twin_root, _ = roots
    deep, twin = (build_dataset(config, 'train_dataloader', r) for r in (deep_root, twin_root))
    for seed in range(3):
        crop = seeded(seed, deep)
        assert_close(crop, seeded(seed, twin))
        assert_ramp(crop, min_span=50)  # the smallest box keeps a quarter of the width


def test_evaluation_view_keeps_the_contrast(roots):
    deep_root, twin_root, _ = roots
    deep, twin = (build_dataset(LINPROBE, 'val_dataloader', r) for r in (deep_root, twin_root))
    for index in range(len(deep)):
        view = deep[index]['inputs']
        assert_close(view, twin[index]['inputs'])
        assert_ramp(view)


def test_knn_folder_keeps_the_contrast(roots):
    deep_root, twin_root, _ = roots
    deep, twin = KNNProbe(deep_root).splits(64), KNNProbe(twin_root).splits(64)
    for deep_images, twin_images in ((deep[0], twin[0]), (deep[2], twin[2])):
        assert len(deep_images) == 2
        for image, twin_image in zip(deep_images, twin_images, strict=True):
            assert_close(image, twin_image)
            assert_ramp(image)


def test_lightning_dataset_and_reconstruction_images_keep_the_contrast(roots):
    deep_root, twin_root, _ = roots
    modules = [
        MAEDataModule(root, img_size=64, patch_size=8, num_workers=0)
        for root in (deep_root, twin_root)
    ]
    for module in modules:
        module.setup('fit')
    for seed in range(2):
        crop = seeded(seed, modules[0].train_set)
        assert_close(crop, seeded(seed, modules[1].train_set))
        assert_ramp(crop, min_span=90)  # the demo's scale (0.2, 1)
    # the images the reconstruction callback (Lightning) and hook (MMEngine) draw
    module = SimpleNamespace(mae=tiny_mae(64, 8))
    pictures = []
    for data, root in zip(modules, (deep_root, twin_root), strict=True):
        callback = ReconstructionCallback(num_images=2).fixed_batch(
            SimpleNamespace(datamodule=data), module
        )[0]
        dataset = build_dataset(PRETRAIN, 'train_dataloader', root)
        runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset))
        hook = ReconstructionVisHook(num_images=2)._fixed_batch(runner, module)[0]
        pictures.append((callback, hook))
    for deep_images, twin_images in zip(*pictures, strict=True):
        for image, twin_image in zip(deep_images, twin_images, strict=True):
            assert_close(image, twin_image)
            assert_ramp(image)
