"""MAEImageFolder: the ImageNet layout with classes and a flat folder without; missing or empty
roots are clear errors; unreadable images (corrupt, or gone or unreadable after the scan) are
skipped and counted, but validation and test datasets refuse to substitute; one class list per
dataset family: validation and test take the training split's, so a class missing in one
split (or an emptied folder) never moves a label."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

import mae_plugin  # noqa: F401
from mae_plugin.data import CorruptImageError
from mae_plugin.engine.pretrain.dataset import MAEImageFolder
from mae_plugin.engine.registry import DATASETS
from tests.helpers.data import dataset, make_folder, tiles, with_unreadable_val
from tests.helpers.paths import ROOT


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


def test_files_gone_or_unreadable_after_the_scan_are_skipped_and_counted(tmp_path, demo_root):
    root = make_folder(
        tmp_path,
        demo_root,
        {
            f'train/{i}.jpg': name
            for i, name in enumerate(('astronaut', 'coffee', 'chelsea', 'rocket', 'moon', 'coins'))
        },
    )
    ds = dataset(root)
    strict = dataset(root, on_corrupt='error')
    train = tmp_path / 'train'
    os.remove(train / '1.jpg')  # deleted
    os.remove(train / '2.jpg')
    os.mkdir(train / '2.jpg')  # a folder in its place: unreadable, root or not
    bad = {1, 2}
    if os.geteuid() != 0:  # root reads through chmod 000
        os.chmod(train / '3.jpg', 0)
        bad.add(3)
    try:
        for idx in range(len(ds)):
            skipped = ds[idx]['data_samples']['num_skipped']
            assert (skipped >= 1) == (idx in bad), (idx, skipped)
        # as training reads: a worker process, collated batches
        loader = DataLoader(ds, batch_size=len(ds), num_workers=1, collate_fn=default_collate)
        batch = next(iter(loader))
        assert batch['inputs'].shape == (len(ds), 3, 64, 64)
        skipped = batch['data_samples']['num_skipped'].tolist()
        assert [i for i, n in enumerate(skipped) if n >= 1] == sorted(bad)
        with pytest.raises(CorruptImageError, match=r'1\.jpg'):
            strict[1]
        with pytest.raises(CorruptImageError, match=r'2\.jpg'):
            strict[2]
    finally:
        os.chmod(train / '3.jpg', 0o644)


PIPELINE = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=73),
    dict(type='MAECenterCrop', size=64),
    dict(type='MAEPackInputs'),
]


def test_val_and_test_datasets_refuse_to_substitute(tmp_path, demo_root):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        make = dict(data_root=root, data_prefix=dict(img_path='val'), classes='train')
        strict = MAEImageFolder(pipeline=PIPELINE, test_mode=True, **make)
        lenient = MAEImageFolder(pipeline=PIPELINE, test_mode=True, on_corrupt='skip', **make)
    index = [info['img_path'] for info in strict.load_data_list()].index(bad)
    with pytest.raises(CorruptImageError, match='zz_unreadable.jpg'):
        strict[index]
    sample = lenient[index]
    assert sample['data_samples']['unreadable'] == bad  # marked, not replaced silently
    assert sample['inputs'].shape == (3, 64, 64)
    assert lenient[0]['data_samples']['unreadable'] == ''


FINETUNE_DEMO = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')


def config_dataset(root, loader='val_dataloader'):
    """The classification demo recipe's dataset of ``loader``, its data root set to ``root``."""
    cfg = Config.fromfile(FINETUNE_DEMO)
    dataset = cfg[loader].dataset
    dataset.data_root = root
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return DATASETS.build(dataset)


def labels(dataset):
    return [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]


def names(dataset):
    return [os.path.basename(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))]


def test_val_missing_a_middle_class_keeps_the_training_labels(tmp_path, demo_root):
    root = tiles(
        tmp_path,
        demo_root,
        {
            'train/a': ['astronaut', 'brick'],
            'train/b': ['camera'],
            'train/c': ['chelsea'],
            'val/a': ['clock'],
            'val/c': ['coffee', 'coins'],
        },
    )
    train = config_dataset(root, 'train_dataloader')
    assert train.metainfo['classes'] == ('a', 'b', 'c') and labels(train) == [0, 0, 1, 2]
    for loader in ('val_dataloader', 'test_dataloader'):
        val = config_dataset(root, loader)
        assert val.metainfo['classes'] == ('a', 'b', 'c')
        assert names(val) == ['clock.jpg', 'coffee.jpg', 'coins.jpg']
        assert labels(val) == [0, 2, 2]
        assert int(val[1]['data_samples']['label']) == 2
    # the same list given as names, as a text file, or in MMEngine's metainfo
    (tmp_path / 'classes.txt').write_text('a\nb\nc\n')
    for kw in (
        dict(classes=['a', 'b', 'c']),
        dict(classes='classes.txt'),
        dict(metainfo=dict(classes=('a', 'b', 'c'))),
        dict(classes=os.path.join(root, 'train')),
    ):
        val = MAEImageFolder(data_root=root, data_prefix=dict(img_path='val'), **kw)
        assert labels(val) == [0, 2, 2], kw
    with pytest.raises(ValueError, match='once'):
        MAEImageFolder(
            data_root=root,
            data_prefix=dict(img_path='val'),
            classes='train',
            metainfo=dict(classes=['a', 'b', 'c']),
        )
    with pytest.raises(FileNotFoundError, match='nowhere'):
        MAEImageFolder(data_root=root, data_prefix=dict(img_path='val'), classes='nowhere')


def test_a_class_only_in_val_is_an_error_naming_it(tmp_path, demo_root):
    root = tiles(
        tmp_path,
        demo_root,
        {
            'train/a': ['astronaut'],
            'train/c': ['chelsea'],
            'val/a': ['clock'],
            'val/b': ['camera'],
            'val/c': ['coffee'],
        },
    )
    with pytest.raises(ValueError, match=r"val/b'? \(class 'b'\) is not among the 2 training"):
        config_dataset(root)


def test_an_empty_class_folder_moves_no_label(tmp_path, demo_root):
    root = tiles(
        tmp_path,
        demo_root,
        {
            'train/a': ['astronaut'],
            'train/b': [],
            'train/c': ['chelsea'],
            'train/.cache': [],
            'val/a': ['clock'],
            'val/b': [],
            'val/c': ['coffee'],
            'val/loose': [],
        },
    )
    tiles(tmp_path, demo_root, {'val': ['coins']})  # outside any class folder
    train = config_dataset(root, 'train_dataloader')
    # an empty training class keeps its index (no image of it is seen); hidden folders are
    # not classes
    assert train.metainfo['classes'] == ('a', 'b', 'c') and labels(train) == [0, 2]
    with pytest.raises(ValueError, match=r"class 'loose'"):
        config_dataset(root)  # an empty val-only class folder is still a foreign class
    os.rmdir(tmp_path / 'val' / 'loose')
    val = config_dataset(root)
    assert names(val) == ['coins.jpg', 'clock.jpg', 'coffee.jpg'] and labels(val) == [-1, 0, 2]
