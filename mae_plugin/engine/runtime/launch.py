"""What ``tools/train.py`` does, importable and testable."""

from __future__ import annotations

import logging
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import BaseLoop, Runner

from ...training.precision import device_amp_dtype
from ...training.ranks import end_process_group
from .distributed import setup_cpu_distributed


def build_train_config(
    config: str,
    work_dir: str | None = None,
    resume: str | None = None,
    amp: bool = False,
    cfg_options: dict | None = None,
    launcher: str = 'none',
) -> Config:
    """Load ``config`` and apply the command-line options, OpenMMLab style.

    Every optimizer wrapper is put under the plugin's non-finite rule; ``amp`` (or a config's
    ``AmpOptimWrapper``) switches to the plugin's autocast wrapper (:func:`enable_amp`).

    Args:
        config: the config file.
        work_dir: ``--work-dir``; None keeps the config's, else ``work_dirs/<config name>``.
        resume: ``--resume``: ``'auto'`` for the work dir's last checkpoint, or a path.
        amp: ``--amp``.
        cfg_options: ``--cfg-options`` overrides.
        launcher: ``--launcher`` (``'none'``, ``'pytorch'``, ``'slurm'``).

    Raises:
        FileNotFoundError: ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    kind = (cfg.get('optim_wrapper') or {}).get('type', 'OptimWrapper')
    if amp or kind == 'AmpOptimWrapper':  # MMEngine's skips forever, uncounted, in fp16
        enable_amp(cfg)
    elif kind == 'OptimWrapper' and cfg.get('optim_wrapper') is not None:
        # the plugin's non-finite rule on every path (training/nonfinite.py): skip, count, stop
        cfg.optim_wrapper.type = 'mae_plugin.FiniteOptimWrapper'
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    setup_cpu_distributed(cfg, launcher)
    return cfg


def enable_amp(cfg: Config) -> None:
    """Switch ``cfg``'s optimizer wrapper to autocast under the plugin's non-finite rule.

    ``MAEAmpOptimWrapper``: bf16 where the device has it, fp16 with its loss scaler on a GPU
    without bf16 (``training/precision.py``); on the CPU of the whole forward or of
    ``cfg.cpu_autocast_modules`` only. An ``optim_wrapper.dtype`` of the config is kept.

    Raises:
        ValueError: a wrapper type ``--amp`` does not know, or a CPU dtype other than bf16.
    """
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in _GUARDABLE:
        raise ValueError(
            f"--amp replaces optim_wrapper.type {kind!r} by the plugin's autocast wrapper; "
            f'it knows {sorted(_GUARDABLE)}'
        )
    if torch.cuda.is_available():
        wrapper.type = 'mae_plugin.MAEAmpOptimWrapper'  # found from the mmdet/mmseg scope too
        chosen = device_amp_dtype(torch.device('cuda', torch.cuda.current_device()))
        wrapper.dtype = str(wrapper.get('dtype') or chosen).removeprefix('torch.')
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper.type = 'mae_plugin.CPUAmpOptimWrapper'
        wrapper.pop('loss_scale', None)  # bf16 needs no loss scaling
        if cfg.get('cpu_autocast_modules'):
            wrapper.autocast_modules = list(cfg.cpu_autocast_modules)
        if wrapper.get('dtype') not in (None, 'bfloat16'):
            raise ValueError(
                f'CPU autocast runs bfloat16, not optim_wrapper.dtype={wrapper.get("dtype")!r}'
            )
    wrapper.pop('use_fsdp', None)  # MMEngine's AmpOptimWrapper's


# optimizer wrappers --amp may replace: MMEngine's plain and AMP ones, and the plugin's
_GUARDABLE = {
    'OptimWrapper',
    'AmpOptimWrapper',
    'FiniteOptimWrapper',
    'mae_plugin.FiniteOptimWrapper',
    'CPUAmpOptimWrapper',
    'mae_plugin.CPUAmpOptimWrapper',
    'MAEAmpOptimWrapper',
    'mae_plugin.MAEAmpOptimWrapper',
}


def build_runner(cfg: Config) -> Runner:
    """Build ``cfg.runner_type`` through the registry, as OpenMMLab's tools do.

    The plugin's configs name ``MAERunner``; without a ``runner_type``, MMEngine's ``Runner``.
    """
    if cfg.get('flush_denormal', False):
        torch.set_flush_denormal(True)  # CPU kernels only; see configs/_base_/default_runtime.py
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_training(cfg: Config) -> Runner:
    """Build the runner from ``cfg`` and train; the loaders' worker processes end with it."""
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        end_loader_workers(runner)
    return runner


def run_test(cfg: Config, checkpoint: str) -> dict:
    """Evaluate ``checkpoint`` on ``cfg``'s test split; returns the metrics."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    cfg.load_from, cfg.resume = checkpoint, False
    runner = build_runner(cfg)
    try:
        return runner.test()
    finally:
        end_loader_workers(runner)


def end_loader_workers(runner: Runner) -> None:
    """Stop the loader worker processes a finished run keeps.

    Persistent workers and the train loop's endless iterator outlive ``runner.train()``. Left
    alone, they end only when the garbage collector finds the runner in a reference cycle, by
    then without their shutdown signal: each worker is joined after a 5 s timeout, so a notebook
    or a test stalls ~5 s per worker in a later, unrelated collection. Lightning ends its own.
    """
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


def exit_launched_process() -> None:
    """End a process that a launcher (torchrun, slurm) started, once its run finished on every rank.

    It ends the process group, then leaves without the interpreter's teardown; a process started
    otherwise returns. The tools call it, not :func:`run_training`, whose caller may own the
    group.

    Even with the process group destroyed, a finished torchrun worker now and then aborts in
    that teardown (SIGABRT, 'terminate called without an active exception': seen on CI in DDP
    and FSDP2 runs whose last checkpoint was already written), and torchrun then reports the
    whole job as failed. Everything the run writes is closed by then (checkpoints are fsynced,
    the visualizer is closed after the run); the log handlers are flushed here.
    """
    if 'WORLD_SIZE' not in os.environ:
        return
    end_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
