"""engine/runtime/launch.py, what tools/train.py and tools/test.py do: ``run_training`` and
``run_test`` end the loader worker processes their runs keep (persistent workers, the train
loop's endless iterator); left to the garbage collector, each worker stalls a later, unrelated
collection ~5 s in a notebook or a test."""

import multiprocessing
import os
import uuid

import pytest

from mae_plugin.engine.runtime import launch
from tests.helpers.mmengine_runs import demo_options, finetune_options
from tests.helpers.paths import CONFIGS, DEMO

WORKERS = {'num_workers': 2, 'persistent_workers': True}


def config(path: str, work_dir: str, options: dict):
    cfg = launch.build_train_config(path, work_dir=work_dir, cfg_options=options)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'  # MMEngine keys its logger by it
    return cfg


def new_children(before: set) -> set:
    return set(multiprocessing.active_children()) - before


def test_training_and_testing_end_their_loader_workers(tmp_path, demo_root, pretrained_64):
    # a fine-tuning: train, val and test loaders, each with persistent workers
    options = finetune_options(demo_root, pretrained_64[0], iters=2)
    for split in ('train', 'val', 'test'):
        options.update({f'{split}_dataloader.{key}': value for key, value in WORKERS.items()})
    finetune = os.path.join(CONFIGS, 'cls', 'vit-t-mae_finetune_demo.py')
    before = set(multiprocessing.active_children())
    runner = launch.run_training(config(finetune, str(tmp_path / 'train'), options))
    assert runner.iter == 2
    assert new_children(before) == set()
    checkpoint = str(tmp_path / 'train' / 'iter_2.pth')
    metrics = launch.run_test(config(finetune, str(tmp_path / 'test'), options), checkpoint)
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert new_children(before) == set()


def test_a_missing_checkpoint_is_named_before_anything_is_built(tmp_path, demo_root):
    cfg = config(DEMO, str(tmp_path), demo_options(demo_root, 1, 1))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        launch.run_test(cfg, str(tmp_path / 'nowhere.pth'))
