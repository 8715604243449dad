"""The demo pretraining run of ``tools/train.py``, shrunk for tests: options, command lines,
configs of runs in the test process, and the shared tiny demo runs."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

from mmengine.config import Config

from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from tests.helpers.paths import DEMO, TRAIN
from tests.helpers.processes import run

# A depth-2 MAE of the demo's input (64 px, patch 8): the model of tests.helpers.models.demo_mae
TINY_ARCH = {
    'model.encoder.embed_dim': 48,
    'model.encoder.depth': 2,
    'model.encoder.num_heads': 3,
    'model.decoder.embed_dim': 32,
    'model.decoder.depth': 1,
    'model.decoder.num_heads': 2,
}
# and a small batch: seconds per run
TINY = {
    **TINY_ARCH,
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
}
MONITORS = ('default_hooks.visualization', 'default_hooks.knn')


def demo_options(data_root: str, iters: int, ckpt_interval: int, **extra) -> dict:
    """``--cfg-options`` of the demo on ``data_root``: ``iters`` iterations, logging each;
    checkpoints, pictures and kNN (on ``data_root/knn``) every ``ckpt_interval``; then
    ``extra``."""
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'train_cfg.max_iters': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': ckpt_interval,
        'default_hooks.visualization.interval': ckpt_interval,
        'default_hooks.knn.data_root': os.path.join(data_root, 'knn'),
        'default_hooks.knn.interval': ckpt_interval,
    }
    options.update(extra)
    return options


def without_monitors(options: dict) -> dict:
    """``options`` with the kNN monitor and the reconstruction pictures turned off (their
    sub-keys dropped: a key under a hook set to None would not merge)."""
    kept = {k: v for k, v in options.items() if not k.startswith(MONITORS)}
    return {**kept, **dict.fromkeys(MONITORS)}


def tiny_options(demo_root: str, iters: int, ckpt_interval: int, **extra) -> dict:
    """The ``TINY`` demo options with the monitoring hooks turned off (in the DDP runs of the
    tests too, so both runs do the same work; dropping only their options would leave a run
    reading the config's relative ``data/demo/knn``, which a clean checkout lacks)."""
    return without_monitors(demo_options(demo_root, iters, ckpt_interval, **{**TINY, **extra}))


def cli(options: dict) -> list[str]:
    """``--cfg-options KEY=VALUE ...``."""
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


def run_cli(args: list[str]) -> str:
    """Run ``args`` to the end; returns its output (AssertionError with the tails)."""
    return run(args, timeout=900).output


def train(config: str, work_dir: str, options: dict, *flags: str) -> str:
    """``python tools/train.py CONFIG --work-dir WORK_DIR FLAGS --cfg-options OPTIONS``."""
    return run_cli([sys.executable, TRAIN, config, '--work-dir', work_dir, *flags, *cli(options)])


def in_process_cfg(tmp_path: Path, data_root: str, iters: int, monitors=True, **extra) -> Config:
    """The demo config of a run in this process in ``tmp_path/run``: a checkpoint every
    iteration and, unless ``monitors`` is False, pictures every iteration and the kNN monitor
    before and after training (for tests about what the run trains, not what it shows)."""
    extra.setdefault('default_hooks.knn.interval', 1000)  # at the end only
    options = demo_options(data_root, iters, 1, **extra)
    if not monitors:
        options = without_monitors(options)
    cfg = build_train_config(DEMO, work_dir=str(tmp_path / 'run'), cfg_options=options)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    return cfg


def tiny_runner(tmp_path: Path, demo_root: str, **options):
    """An ``MAERunner`` of the demo config with the ``TINY`` model, 1 iteration by default."""
    cfg = build_train_config(
        DEMO,
        work_dir=str(tmp_path / 'run'),
        cfg_options=demo_options(demo_root, 1, 1, **{**TINY, **options}),
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return build_runner(cfg)


def finetune_options(demo_root: str, checkpoint: str, iters: int = 6) -> dict:
    """``--cfg-options`` of a classification recipe (configs/cls/) with the tiny encoder loaded
    from ``checkpoint``, on the demo's kNN split: ``iters`` iterations, validated and
    checkpointed at the end, logging each."""
    knn = os.path.join(demo_root, 'knn')
    return {
        'model.arch.embed_dim': 48,
        'model.arch.depth': 2,
        'model.arch.num_heads': 3,
        'model.init_cfg.checkpoint': checkpoint,
        'train_dataloader.dataset.data_root': knn,
        'val_dataloader.dataset.data_root': knn,
        'test_dataloader.dataset.data_root': knn,
        'train_dataloader.batch_size': 8,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }


def build_demo_runs(folder: Path, data_root: str) -> None:
    """``folder/mae_vit-t_demo``: 6 iterations of the tiny demo, checkpoint, pictures and kNN
    every 3; norm-pix off (the checkpoint meta tests need a value other than the default) and
    TensorBoard's event file beside the local log. ``folder/resumed``: a copy resumed from
    iteration 3. The ``tiny_demo_run`` fixture of tests/conftest.py shares them."""
    config = folder / 'mae_vit-t_demo_tensorboard.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
        "dict(type='TensorboardVisBackend')])\n"
    )
    first, resumed = str(folder / 'mae_vit-t_demo'), str(folder / 'resumed')
    opts = {**demo_options(data_root, 6, 3, **TINY), 'model.loss.norm_pix': False}
    train(str(config), first, opts)
    shutil.copytree(first, resumed)
    out = train(str(config), resumed, opts, '--resume', os.path.join(resumed, 'iter_3.pth'))
    assert 'resumed epoch: 0, iter: 3' in out
