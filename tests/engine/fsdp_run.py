"""Runs of the demo under MAEFSDP2Strategy for the tests: torchrun launches and probes."""

import os
import subprocess
import sys

import torch

from tests.conftest import ROOT, free_port, save_plugin_checkpoint
from tests.engine.demo_run import (
    DEMO,
    TINY,
    TRAIN,
    cli,
    demo_options,
    run_cli,
    tiny_core_mae,
    without_monitors,
)

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
    return without_monitors(demo_options(demo_root, iters, ckpt_interval, **{**TINY, **extra}))


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


def two_nodes(config, work, options):
    """``tools/train.py config --launcher pytorch`` as two nodes of one process each on this
    machine: one torchrun agent per node (``--nnodes=2 --node_rank=N``), meeting at a free
    port. Returns node 0's output (assertion error with both tails if a node fails)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                '-m',
                'torch.distributed.run',
                '--nnodes=2',
                '--nproc-per-node=1',
                f'--node_rank={node}',
                '--master_addr=127.0.0.1',
                f'--master_port={port}',
                TRAIN,
                config,
                '--launcher',
                'pytorch',
                '--work-dir',
                work,
            ]
            + cli(options),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in (0, 1)
    ]
    outs = [node.communicate(timeout=600)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outs[0][-3000:] + outs[1][-3000:]
    return outs[0]


ITERS = 4  # of the two-node runs and of the runs resumed from them
# warm-up over the first 2 iterations, then cosine to a floor of a ratio of the lr, which the
# iterations after the checkpoint at 2 follow
SCHEDULE = {
    'param_scheduler.0.end': 2,
    'param_scheduler.1.begin': 2,
    'param_scheduler.1.T_max': ITERS - 2,
    'param_scheduler.1.eta_min': None,
    'param_scheduler.1.eta_min_ratio': 0.1,
    'param_scheduler.1.end': ITERS,
}
SCALED = {'auto_scale_lr.enable': True, 'auto_scale_lr.base_batch_size': 256}


def build_two_node_runs(folder, data_root):
    """``folder/ddp`` and ``folder/fsdp``: the tiny demo under MAERunner (DDP) and under
    MAEFlexibleRunner (FSDP2), each launched as two nodes of one process on this machine, from
    the same first weights (``folder/start.pth``: the two runners build the model at other
    points of the seeded random stream, FlexibleRunner builds its loader first). ITERS
    iterations on SCHEDULE, the lr scaled by the batch (SCALED); checkpoints at 2 and 4, the
    kNN monitor before training and at 4, pictures at 4; FSDPProbeHook on every rank
    (``probe_rank<R>.pth``), and DDPProbeHook in the DDP run (``ddp_probe_rank<R>.pth``);
    node 0's output in ``output.txt``."""
    torch.manual_seed(0)
    start = save_plugin_checkpoint(tiny_core_mae(), folder / 'start.pth')
    init = {'model.init_cfg.type': 'Pretrained', 'model.init_cfg.checkpoint': start}
    monitors = {'default_hooks.visualization.interval': 4, 'default_hooks.knn.interval': 4}
    options = demo_options(data_root, ITERS, 2, **TINY, **SCHEDULE, **SCALED, **init, **monitors)
    fsdp_probe = "dict(type='FSDPProbeHook')"
    ddp = probed(
        folder,
        DEMO,
        'ddp',
        hooks=[fsdp_probe, "dict(type='DDPProbeHook')"],
        imports=['tests.engine.ddp_probe'],
    )
    for name, config in (('ddp', ddp), ('fsdp', probed(folder, DEMO_FSDP, 'fsdp'))):
        out = two_nodes(config, str(folder / name), options)
        (folder / name / 'output.txt').write_text(out)


def probes(work, ranks=(0, 1)):
    return [torch.load(os.path.join(work, f'probe_rank{r}.pth'), weights_only=True) for r in ranks]


def last_checkpoint(work):
    with open(os.path.join(work, 'last_checkpoint')) as f:
        return f.read().strip()
