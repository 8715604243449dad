"""One class list per dataset family: validation, test and the kNN monitor take the training
split's, so a class missing in one split (or an emptied folder) never moves a label."""

import os

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401
from mae_plugin.engine.hooks.knn import KNNMonitorHook
from mae_plugin.engine.pretrain.dataset import MAEImageFolder
from mae_plugin.engine.registry import DATASETS
from mae_plugin.engine.runtime.launch import run_training
from tests.helpers import scalars
from tests.helpers.data import tiles
from tests.helpers.mmengine_runs import in_process_cfg
from tests.helpers.paths import ROOT

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


def test_knn_monitor_labels_val_by_the_training_classes(tmp_path, demo_root):
    # val lacks the middle class; its images are copies of training images, so with k = 1 the
    # nearest neighbour of each is its own copy and the right labels score 100 %
    knn = tiles(
        tmp_path / 'knn',
        demo_root,
        {
            'train/a': ['astronaut', 'brick'],
            'train/b': ['camera', 'cell'],
            'train/c': ['chelsea', 'clock'],
            'val/a': ['brick'],
            'val/c': ['chelsea', 'clock'],
        },
    )
    cfg = in_process_cfg(
        tmp_path, demo_root, 1, **{'default_hooks.knn.data_root': knn, 'default_hooks.knn.k': 1}
    )
    runner = run_training(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, KNNMonitorHook))
    ((_, train_labels, _, val_labels),) = hook.probe._splits.values()
    assert train_labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert val_labels.tolist() == [0, 2, 2]
    (rows,) = scalars.runs(os.path.join(runner.log_dir, 'vis_data', 'scalars.json'))
    # measured before training (step 0) and at the end (step 1)
    assert [row['knn_top1'] for row in rows if 'knn_top1' in row] == [100.0, 100.0]

    os.makedirs(os.path.join(knn, 'val', 'd'))
    with pytest.raises(ValueError, match=r"class 'd'"):
        KNNMonitorHook(knn, k=1).evaluate(runner)
