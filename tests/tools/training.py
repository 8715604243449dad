"""Short real pretraining runs through ``tools/train.py`` (the CLI contract), for the tools that
read what a run leaves behind."""

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DEMO = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
TRAIN = os.path.join(ROOT, 'tools', 'train.py')


def options(data_root: str, iters: int, interval: int) -> dict:
    """The demo config shrunk to a depth-2, 48-wide MAE on batches of 4, logging every
    iteration; checkpoints, reconstructions and kNN every ``interval`` iterations."""
    return {
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'model.encoder.embed_dim': 48,
        'model.encoder.depth': 2,
        'model.encoder.num_heads': 3,
        'model.decoder.embed_dim': 32,
        'model.decoder.depth': 1,
        'model.decoder.num_heads': 2,
        'train_cfg.max_iters': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': interval,
        'default_hooks.visualization.interval': interval,
        'default_hooks.knn.data_root': os.path.join(data_root, 'knn'),
        'default_hooks.knn.interval': interval,
    }


def train(config: str, work_dir: str, opts: dict, *extra: str) -> str:
    """Run ``tools/train.py`` to the end; returns its output (assertion error with the tail)."""
    args = [sys.executable, TRAIN, config, '--work-dir', work_dir, *extra, '--cfg-options']
    args += [f'{k}={v}' for k, v in opts.items()]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def rows(work_dir: str) -> list[list[dict]]:
    """The rows of each run's scalars.json, oldest run first."""
    files = sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')))
    return [[json.loads(line) for line in open(f) if line.strip()] for f in files]


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
    run, resumed = str(folder / 'mae_vit-t_demo'), str(folder / 'resumed')
    opts = {**options(data_root, 6, 3), 'model.loss.norm_pix': False}
    train(str(config), run, opts)
    shutil.copytree(run, resumed)
    out = train(str(config), resumed, opts, '--resume', os.path.join(resumed, 'iter_3.pth'))
    assert 'resumed epoch: 0, iter: 3' in out
