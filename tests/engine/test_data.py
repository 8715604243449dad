import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

import mae_plugin  # noqa: F401
from mae_plugin.data import CorruptImageError, MAEMaskGenerator
from mae_plugin.engine.registry import TRANSFORMS
from tests.helpers.data import dataset, make_folder


def test_imagenet_layout_with_classes(tmp_path, demo_root):
    root = make_folder(
        tmp_path,
        demo_root,
        {
            'train/n01/a.JPEG': 'astronaut',
            'train/n01/b.JPEG': 'coffee',
            'train/n02/c.jpg': 'chelsea',
            'train/notes.txt': 'rocket',
        },
    )
    ds = dataset(root)
    assert ds.metainfo['classes'] == ('n01', 'n02')
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == [0, 0, 1]
    sample = ds[2]
    assert sample['inputs'].shape == (3, 64, 64) and sample['inputs'].dtype == torch.uint8
    mask = sample['data_samples']['mask']
    assert mask.shape == (64,) and int((~mask).sum()) == 16
    assert int(sample['data_samples']['label']) == 1
    batch = default_collate([ds[0], ds[1]])
    assert batch['inputs'].shape == (2, 3, 64, 64)
    assert batch['data_samples']['mask'].shape == (2, 64)


def test_flat_folder_has_no_labels(tmp_path, demo_root):
    root = make_folder(tmp_path, demo_root, {'train/x.jpg': 'moon', 'train/y.jpg': 'coins'})
    ds = dataset(root)
    assert ds.metainfo['classes'] == () and int(ds[0]['data_samples']['label']) == -1


def test_missing_root_and_empty_root_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        dataset(str(tmp_path / 'nowhere'))
    (tmp_path / 'train').mkdir()
    (tmp_path / 'train' / 'readme.txt').write_text('no images here')
    with pytest.raises(ValueError, match='holds no images'):
        dataset(str(tmp_path))


def test_corrupt_image_is_skipped_and_counted(tmp_path, demo_root):
    root = make_folder(tmp_path, demo_root, {'train/a.jpg': 'astronaut'})
    good = (tmp_path / 'train' / 'a.jpg').read_bytes()
    (tmp_path / 'train' / 'b_truncated.jpg').write_bytes(good[: len(good) // 3])
    (tmp_path / 'train' / 'c_garbage.png').write_bytes(b'not an image at all')
    ds = dataset(root)
    assert len(ds) == 3
    for idx in (1, 2):
        sample = ds[idx]
        assert sample['inputs'].shape == (3, 64, 64)
        assert sample['data_samples']['num_skipped'] >= 1
    assert ds[0]['data_samples']['num_skipped'] == 0
    strict = dataset(root, on_corrupt='error')
    with pytest.raises(CorruptImageError, match='b_truncated.jpg'):
        strict[1]


def test_random_resized_crop_uses_bicubic_and_scale():
    crop = TRANSFORMS.get('MAERandomResizedCrop')(size=224)
    assert crop.scale == (0.2, 1.0) and crop.interpolation.value == 'bicubic'
    from PIL import Image

    img = Image.fromarray(np.zeros((300, 400, 3), np.uint8))
    assert crop(dict(img=img))['img'].size == (224, 224)


def test_mask_generator_rejects_bad_settings():
    with pytest.raises(ValueError, match='not divisible'):
        MAEMaskGenerator(input_size=100, patch_size=16)
    with pytest.raises(ValueError, match='mask_ratio'):
        MAEMaskGenerator(mask_ratio=1.0)
    with pytest.raises(ValueError, match='strategy'):
        MAEMaskGenerator(strategy='stripes')
    for strategy in ('random', 'block', 'grid'):
        out = MAEMaskGenerator(strategy=strategy)({})
        assert int((~out['mask']).sum()) == 49
