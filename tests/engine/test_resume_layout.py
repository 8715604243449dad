"""Resuming on another batch layout (processes x batch x accumulation) under ``auto_scale_lr``:
the lr of every later iteration is the lr a fresh run of the new layout has; without
``auto_scale_lr`` the checkpoint's lr is kept. MAERunner (DDP) and MAEFlexibleRunner
(MAEFSDP2Strategy), 2 processes (torchrun as two nodes, gloo) resumed on 1 (in this process),
and batch/accumulation on 1."""

import os
import shutil
import uuid

import pytest

from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from tests.helpers import scalars
from tests.helpers.fsdp_runs import ITERS, SCALED, SCHEDULE
from tests.helpers.in_process import train as train_in_process
from tests.helpers.mmengine_runs import tiny_options
from tests.helpers.paths import DEMO, DEMO_FSDP

# ITERS, SCHEDULE (warm-up over the first 2 iterations, then cosine to a floor of a ratio of
# the lr, which the iterations after the checkpoint at 2 follow), SCALED: tests/engine/fsdp_run.py


def options(demo_root, **extra):
    return tiny_options(demo_root, ITERS, 2, **{**SCHEDULE, **extra})


def lrs(work):
    """{iteration: (lr, base_lr)} of the newest run in ``work``."""
    rows = scalars.runs(work)[-1]
    return {r['step']: (r['lr'], r.get('base_lr')) for r in rows if 'lr' in r}


def in_process(tmp_path, demo_root, work, config=DEMO, resume=None, **extra):
    cfg = build_train_config(
        config, work_dir=str(tmp_path / work), cfg_options=options(demo_root, **extra)
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    if resume:
        cfg.resume, cfg.load_from = True, resume
    build_runner(cfg).train()
    return lrs(str(tmp_path / work))


def assert_same_lrs(resumed, fresh, steps):
    for step in steps:
        assert resumed[step] == pytest.approx(fresh[step], rel=1e-6), (step, resumed, fresh)


@pytest.mark.parametrize('config', [DEMO, DEMO_FSDP], ids=['mae_runner', 'fsdp2'])
def test_another_batch_and_accumulation_on_one_process_follow_the_lr_rule(
    tmp_path, demo_root, config, capsys
):
    # batch 4 x 1 accumulation, resumed at 2 with batch 2 x 4 (effective 8: twice the lr)
    first = in_process(tmp_path, demo_root, 'run', config, **SCALED)
    other = {'train_dataloader.batch_size': 2, 'optim_wrapper.accumulative_counts': 4}
    fresh = in_process(tmp_path, demo_root, 'fresh', config, **SCALED, **other)
    checkpoint = str(tmp_path / 'run' / 'iter_2.pth')
    capsys.readouterr()
    resumed = in_process(tmp_path, demo_root, 'run', config, checkpoint, **SCALED, **other)
    assert sorted(resumed) == [3, 4]
    assert_same_lrs(resumed, fresh, (3, 4))
    assert resumed[3][0] == pytest.approx(2 * first[3][0], rel=1e-6)
    out = capsys.readouterr()
    assert 'resumed from a run of 1 processes x 4 x 1; lr rescaled from' in out.out + out.err

    # without auto_scale_lr the lr does not depend on the layout: the checkpoint's is kept
    in_process(tmp_path, demo_root, 'plain', config)
    again = in_process(
        tmp_path, demo_root, 'plain', config, str(tmp_path / 'plain' / 'iter_2.pth'), **other
    )
    plain = in_process(tmp_path, demo_root, 'plain_fresh', config)
    assert_same_lrs(again, plain, (3, 4))


@pytest.mark.slow
@pytest.mark.parametrize('config, run', [(DEMO, 'ddp'), (DEMO_FSDP, 'fsdp')], ids=['ddp', 'fsdp2'])
def test_two_processes_resumed_on_one_step_with_the_one_process_lr(
    tmp_path, demo_root, two_node_runs, config, run
):
    """The two-node run of tests/conftest.py (2 processes x 4 x 1, ITERS iterations on
    SCHEDULE, SCALED), copied, resumed at 2 on one process."""
    opts = options(demo_root, **SCALED)
    work = str(tmp_path / 'run')
    shutil.copytree(two_node_runs[run], work)
    fresh_lrs = in_process(tmp_path, demo_root, 'fresh', config, **SCALED)  # the reference
    # resumed on one process: tools/train.py's functions in this process (in_process.py)
    _, out = train_in_process(config, work, opts, '--resume', os.path.join(work, 'iter_2.pth'))
    resumed = lrs(work)
    assert sorted(resumed) == [3, 4]
    assert_same_lrs(resumed, fresh_lrs, (3, 4))
    assert 'resumed from a run of 2 processes x 4 x 1; lr rescaled from' in out
    assert 'x0.5) for 1 processes x 4 x 1' in out


def test_an_absolute_floor_cannot_follow_another_layout_and_is_refused(tmp_path, demo_root):
    """An absolute eta_min is not scaled by auto_scale_lr in a fresh run: no rescale of the
    resumed state gives a fresh run's lr (mid-cosine), so it is an error naming the value."""
    floor = {'param_scheduler.1.eta_min': 1e-6, 'param_scheduler.1.eta_min_ratio': None}
    in_process(tmp_path, demo_root, 'run', **SCALED, **floor)
    with pytest.raises(ValueError, match='CosineAnnealingLR anneals to the absolute eta_min=1e-06'):
        in_process(
            tmp_path,
            demo_root,
            'run',
            DEMO,
            str(tmp_path / 'run' / 'iter_2.pth'),
            **SCALED,
            **floor,
            **{'train_dataloader.batch_size': 2},
        )
