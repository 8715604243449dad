"""The demo pretraining run, shrunk for tests: options, command line and log readers."""

import glob
import json
import os
import subprocess
import uuid

from mae_plugin.engine.runtime.launch import build_train_config
from tests.conftest import ROOT

DEMO = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
TRAIN = os.path.join(ROOT, 'tools', 'train.py')


def demo_options(data_root, iters, ckpt_interval, **extra):
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


def cli(options):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


def run_cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, **kw
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def logged_losses(work_dir):
    scalars = glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))
    rows = [json.loads(line) for f in sorted(scalars) for line in open(f)]
    return {row['step']: row['loss'] for row in rows if 'loss' in row}


MONITORS = ('default_hooks.visualization', 'default_hooks.knn')


def without_monitors(options):
    """``options`` with the kNN monitor and the reconstruction pictures turned off (their
    sub-keys dropped: a key under a hook set to None would not merge)."""
    kept = {k: v for k, v in options.items() if not k.startswith(MONITORS)}
    return {**kept, **dict.fromkeys(MONITORS)}


def in_process_cfg(tmp_path, data_root, iters, monitors=True, **extra):
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


# A depth-2 MAE of the demo's input (64 px, patch 8) and a small batch: seconds per run.
TINY = {
    'model.encoder.embed_dim': 48,
    'model.encoder.depth': 2,
    'model.encoder.num_heads': 3,
    'model.decoder.embed_dim': 32,
    'model.decoder.depth': 1,
    'model.decoder.num_heads': 2,
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
}


def tiny_core_mae(img_size=64, norm_pix=True):
    """The core ``MaskedAutoencoder`` of the ``TINY`` options (another input size: resampled)."""
    from mae_plugin.models import build_mae

    return build_mae(
        'tiny',
        img_size=img_size,
        patch_size=8,
        embed_dim=48,
        depth=2,
        num_heads=3,
        norm_pix=norm_pix,
        decoder=dict(embed_dim=32, depth=1, num_heads=2),
    )


def tiny_runner(tmp_path, demo_root, **options):
    """An ``MAERunner`` of the demo config with the ``TINY`` model, 1 iteration by default."""
    from mae_plugin.engine.runtime.launch import build_runner

    cfg = build_train_config(
        DEMO,
        work_dir=str(tmp_path / 'run'),
        cfg_options=demo_options(demo_root, 1, 1, **{**TINY, **options}),
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return build_runner(cfg)
