"""``tools/train.py`` and ``tools/test.py`` run in the test process, for tests about what a run
does rather than about its command line: the tools' own argument parsers (``--cfg-options``
values parsed as on the command line), then the functions their ``main`` calls
(``mae_plugin.engine.runtime.launch``), without the seconds of an interpreter start. Each run
gets its own experiment name (MMEngine keys its logger and visualizer by it); its log is read
back; the worker processes its loaders keep are stopped when it ends (end_loader_workers)."""

from __future__ import annotations

import argparse
import glob
import os
import uuid

from mmengine.config import Config
from mmengine.runner import BaseLoop, Runner

from mae_plugin.engine.runtime.launch import build_runner, build_train_config, run_test
from tests.helpers.mmengine_runs import cli
from tools import test as test_tool
from tools import train as train_tool


def _config(args: argparse.Namespace, **launch) -> Config:
    cfg = build_train_config(
        args.config, work_dir=args.work_dir, cfg_options=args.cfg_options, **launch
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return cfg


def end_loader_workers(runner: Runner) -> None:
    """Stop now the loader worker processes a finished run keeps (persistent workers, and the
    train loop's endless iterator). Left alone, they are stopped when the garbage collector
    finds the runner in a reference cycle, by then without their shutdown signal: each worker
    is joined after a 5 s timeout, and a later test waits ~10 s in an unrelated collection."""
    for loop in (runner._train_loop, runner._val_loop, runner._test_loop):
        if not isinstance(loop, BaseLoop):
            continue  # never built
        # torch's multi-process iterator: in MMEngine's endless iterator (``_iterator``, the
        # shard loop's resumed one: ``iterator``), or in a loader with persistent workers
        for holder in (getattr(loop, 'dataloader_iterator', None), loop.dataloader):
            for name in ('_iterator', 'iterator'):
                iterator = getattr(holder, name, None)
                if hasattr(iterator, '_shutdown_workers'):
                    iterator._shutdown_workers()


def train(config: str, work_dir: str, options: dict, *flags: str) -> tuple[Runner, str]:
    """What ``tools/train.py CONFIG --work-dir WORK_DIR FLAGS --cfg-options OPTIONS`` does
    (flags such as ``--amp``, ``--resume PATH``): (the runner after training, this run's log)."""
    args = train_tool.parse_args([config, '--work-dir', work_dir, *flags, *cli(options)])
    runner = build_runner(_config(args, resume=args.resume, amp=args.amp))
    try:
        runner.train()
    finally:
        end_loader_workers(runner)
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
