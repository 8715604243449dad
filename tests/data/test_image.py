"""16-bit and 32-bit images keep their contrast in the one decode function: each deep file gives
what its 8-bit twin gives, within 1 level (before it, PIL's ``convert('RGB')`` clipped modes
I;16, I and F); non-finite floats and unknown modes are errors naming file and mode."""

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

import mae_plugin  # noqa: F401
from mae_plugin.data.image import CorruptImageError, load_image, read_center_crop, to_rgb
from tests.helpers.ramps import (
    DEEP,
    PIL_MODES,
    assert_close,
    assert_ramp,
    write_ramps,
)


@pytest.fixture(scope='module')
def ramps(tmp_path_factory):
    return write_ramps(str(tmp_path_factory.mktemp('ramps')))


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
