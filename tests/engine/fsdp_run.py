"""Runs of the demo under MAEFSDP2Strategy for the tests: torchrun launches and probes."""

import os
import sys

import torch

from tests.conftest import free_port
from tests.engine.demo_run import DEMO, TINY, TRAIN, cli, demo_options, run_cli

DEMO_FSDP = DEMO.replace('mae_vit-t_demo.py', 'mae_vit-t_demo_fsdp.py')


def probed(tmp_path, base, name, hooks=("dict(type='FSDPProbeHook')",), imports=()):
    """A config file: ``base`` plus the probe (and more test hooks) as custom hooks."""
    path = tmp_path / f'{name}.py'
    modules = ['mae_plugin', 'tests.engine.fsdp_probe', *imports]
    path.write_text(
        f'_base_ = {base!r}\n'
        f'custom_imports = dict(imports={modules!r})\n'
        f'custom_hooks = [{", ".join(hooks)}]\n'
    )
    return str(path)


def tiny_options(demo_root, iters, ckpt_interval, **extra):
    """The ``TINY`` demo options with the monitoring hooks turned off (in the DDP runs of the
    tests too, so both runs do the same work; dropping only their options would leave a run
    reading the config's relative ``data/demo/knn``, which a clean checkout lacks)."""
    options = demo_options(demo_root, iters, ckpt_interval, **{**TINY, **extra})
    options = {k: v for k, v in options.items() if not k.startswith(OFF_UNDER_SHARDING)}
    return {**options, **{hook: None for hook in OFF_UNDER_SHARDING}}


# the monitoring hooks, off where a test compares losses or times runs
OFF_UNDER_SHARDING = ('default_hooks.visualization', 'default_hooks.knn')


def torchrun(config, work, options, nproc=2, extra=(), check=True):
    """``torchrun --nproc_per_node=nproc tools/train.py config --launcher pytorch``."""
    args = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        f'--nproc_per_node={nproc}',
        '--master_port',
        free_port(),
        TRAIN,
        config,
        '--launcher',
        'pytorch',
        '--work-dir',
        work,
        *extra,
    ] + cli(options)
    return run_cli(args) if check else args


def probes(work, ranks=(0, 1)):
    return [torch.load(os.path.join(work, f'probe_rank{r}.pth'), weights_only=True) for r in ranks]


def last_checkpoint(work):
    with open(os.path.join(work, 'last_checkpoint')) as f:
        return f.read().strip()
