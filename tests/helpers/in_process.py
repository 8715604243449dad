"""``tools/train.py`` and ``tools/test.py`` run in the test process, for tests about what a run
does rather than about its command line: the tools' own argument parsers (``--cfg-options``
values parsed as on the command line), then the functions their ``main`` calls
(``mae_plugin.engine.runtime.launch``), without the seconds of an interpreter start. Each run
gets its own experiment name (MMEngine keys its logger and visualizer by it); its log is read
back; run_training stops the worker processes its loaders keep."""

from __future__ import annotations

import argparse
import glob
import os
import uuid

from mmengine.config import Config
from mmengine.runner import Runner

from mae_plugin.engine.runtime.launch import build_train_config, run_test, run_training
from tests.helpers.mmengine_runs import cli
from tools import test as test_tool
from tools import train as train_tool


def _config(args: argparse.Namespace, **launch) -> Config:
    cfg = build_train_config(
        args.config, work_dir=args.work_dir, cfg_options=args.cfg_options, **launch
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return cfg


def train(config: str, work_dir: str, options: dict, *flags: str) -> tuple[Runner, str]:
    """What ``tools/train.py CONFIG --work-dir WORK_DIR FLAGS --cfg-options OPTIONS`` does
    (flags such as ``--amp``, ``--resume PATH``): (the runner after training, this run's log)."""
    args = train_tool.parse_args([config, '--work-dir', work_dir, *flags, *cli(options)])
    runner = run_training(_config(args, resume=args.resume, amp=args.amp))  # workers ended
    with open(os.path.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        return runner, f.read()


def evaluate(config: str, checkpoint: str, work_dir: str, options: dict) -> tuple[dict, str]:
    """What ``tools/test.py CONFIG CHECKPOINT --work-dir WORK_DIR --cfg-options OPTIONS`` does:
    (the metrics, the log). ``work_dir`` holds no other run."""
    args = test_tool.parse_args([config, checkpoint, '--work-dir', work_dir, *cli(options)])
    metrics = run_test(_config(args), args.checkpoint)
    (path,) = glob.glob(os.path.join(work_dir, '*', '*.log'))
    with open(path) as f:
        return metrics, f.read()
