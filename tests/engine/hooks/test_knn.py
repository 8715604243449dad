"""KNNMonitorHook measures before training starts (the starting point of the curve), unless told
not to, and then at its interval; it labels the validation split by the training classes."""

import os

import pytest

import mae_plugin  # noqa: F401
from mae_plugin.engine.hooks.knn import KNNMonitorHook
from mae_plugin.engine.runtime.launch import run_training
from tests.helpers import scalars
from tests.helpers.data import tiles
from tests.helpers.mmengine_runs import TINY, in_process_cfg


def knn_rows(tmp_path, demo_root, **options) -> list[dict]:
    """The scalars.json rows of a 2-iteration tiny demo run, kNN every iteration on 4 tiles."""
    knn = tiles(
        tmp_path / 'knn',
        demo_root,
        {
            'train/a': ['astronaut', 'brick'],
            'train/b': ['camera', 'cell'],
            'val/a': ['astronaut'],
            'val/b': ['cell'],
        },
    )
    options = {
        **TINY,
        'default_hooks.knn.data_root': knn,
        'default_hooks.knn.interval': 1,
        'default_hooks.knn.k': 1,
        **options,
    }
    runner = run_training(in_process_cfg(tmp_path, demo_root, 2, **options))
    (rows,) = scalars.runs(os.path.join(runner.log_dir, 'vis_data', 'scalars.json'))
    return rows


def test_knn_is_measured_before_the_first_step(tmp_path, demo_root):
    rows = knn_rows(tmp_path, demo_root)
    assert rows[0] == {'knn_top1': 100.0, 'step': 0}  # logged before any training row
    assert [r['step'] for r in rows if 'knn_top1' in r] == [0, 1, 2]


def test_knn_before_training_can_be_turned_off(tmp_path, demo_root):
    rows = knn_rows(tmp_path, demo_root, **{'default_hooks.knn.before_train': False})
    assert 'loss' in rows[0]
    assert [r['step'] for r in rows if 'knn_top1' in r] == [1, 2]


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
