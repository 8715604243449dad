"""Runs of the demo under torchrun for the tests: DDP and MAEFSDP2Strategy, one machine or
two nodes, with the probes of tests/helpers/scripts/ as custom hooks."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import torch

from mae_plugin.engine.runtime.launch import build_train_config
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.mmengine_runs import TINY, cli, demo_options, run_cli, tiny_options
from tests.helpers.models import demo_mae
from tests.helpers.paths import DEMO, DEMO_FSDP, TRAIN
from tests.helpers.ports import free_port
from tests.helpers.processes import finish, start
from tests.helpers.processes import torchrun as torchrun_head

SCRIPTS = 'tests.helpers.scripts'


def probed(tmp_path: Path, base: str, name: str, hooks=("dict(type='FSDPProbeHook')",), imports=()):
    """A config file: ``base`` plus the probe (and more test hooks) as custom hooks;
    ``imports``: more modules of tests/helpers/scripts/ to import."""
    path = tmp_path / f'{name}.py'
    modules = ['mae_plugin', f'{SCRIPTS}.fsdp_probe', *(f'{SCRIPTS}.{m}' for m in imports)]
    path.write_text(
        f'_base_ = {base!r}\n'
        f'custom_imports = dict(imports={modules!r})\n'
        f'custom_hooks = [{", ".join(hooks)}]\n'
    )
    return str(path)


def torchrun(config, work, options, nproc=2, extra=(), check=True):
    """``torchrun --nproc_per_node=nproc tools/train.py config --launcher pytorch``: its output,
    or with ``check=False`` the command line, not run."""
    args = [*torchrun_head(nproc), TRAIN, config, '--launcher', 'pytorch', '--work-dir', work]
    args += [*extra, *cli(options)]
    return run_cli(args) if check else args


def two_nodes(config, work, options):
    """``tools/train.py config --launcher pytorch`` as two nodes of one process each on this
    machine: one torchrun agent per node (``--nnodes=2 --node_rank=N``), meeting at a free
    port. Returns node 0's output (assertion error with both tails if a node fails)."""
    port = free_port()
    head = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=2', '--nproc-per-node=1']
    head += ['--master_addr=127.0.0.1', f'--master_port={port}']
    tail = [TRAIN, config, '--launcher', 'pytorch', '--work-dir', work, *cli(options)]
    nodes = [start([*head, f'--node_rank={node}', *tail], merge=True) for node in (0, 1)]
    done = [finish(node, check=False) for node in nodes]
    outs = [d.stdout for d in done]
    assert [d.returncode for d in done] == [0, 0], outs[0][-3000:] + outs[1][-3000:]
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


def build_two_node_runs(folder: Path, data_root: str) -> None:
    """``folder/ddp`` and ``folder/fsdp``: the tiny demo under MAERunner (DDP) and under
    MAEFlexibleRunner (FSDP2), each launched as two nodes of one process on this machine, from
    the same first weights (``folder/start.pth``: the two runners build the model at other
    points of the seeded random stream, FlexibleRunner builds its loader first). ITERS
    iterations on SCHEDULE, the lr scaled by the batch (SCALED); checkpoints at 2 and 4, the
    kNN monitor before training and at 4, pictures at 4; FSDPProbeHook on every rank
    (``probe_rank<R>.pth``), and DDPProbeHook in the DDP run (``ddp_probe_rank<R>.pth``);
    node 0's output in ``output.txt``."""
    torch.manual_seed(0)
    start_pth = save_plugin_checkpoint(demo_mae(), folder / 'start.pth')
    init = {'model.init_cfg.type': 'Pretrained', 'model.init_cfg.checkpoint': start_pth}
    monitors = {'default_hooks.visualization.interval': 4, 'default_hooks.knn.interval': 4}
    options = demo_options(data_root, ITERS, 2, **TINY, **SCHEDULE, **SCALED, **init, **monitors)
    fsdp_probe = "dict(type='FSDPProbeHook')"
    ddp = probed(
        folder, DEMO, 'ddp', hooks=[fsdp_probe, "dict(type='DDPProbeHook')"], imports=['ddp_probe']
    )
    for name, config in (('ddp', ddp), ('fsdp', probed(folder, DEMO_FSDP, 'fsdp'))):
        out = two_nodes(config, str(folder / name), options)
        (folder / name / 'output.txt').write_text(out)


def probes(work: str, ranks=(0, 1)) -> list[dict]:
    """The ``probe_rank<R>.pth`` of FSDPProbeHook of each rank, read weights-only."""
    return [torch.load(os.path.join(work, f'probe_rank{r}.pth'), weights_only=True) for r in ranks]


def last_checkpoint(work: str) -> str:
    """The path in ``work/last_checkpoint``."""
    with open(os.path.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def fsdp_config(tmp_path, demo_root, iters, work='run', **options):
    """The tiny demo on MAEFSDP2Strategy (``DEMO_FSDP``) as ``tools/train.py`` builds its config,
    for one rank in this process, working in ``tmp_path / work``."""
    cfg = build_train_config(
        DEMO_FSDP,
        work_dir=str(tmp_path / work),
        cfg_options=tiny_options(demo_root, iters, 1, **options),
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return cfg
