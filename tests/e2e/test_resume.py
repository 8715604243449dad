"""Resuming through tools/train.py: nothing is lost (a kill during a save leaves the last
complete checkpoint named in ``last_checkpoint``, and ``--resume`` continues from it), nothing a
checkpoint holds is run, auto-resume continues only the same schedule, and two processes
resumed on one step with the lr of a one-process run (``auto_scale_lr``)."""

import os
import re
import shutil
import signal
import sys
import textwrap
import uuid

import pytest
import torch

from mae_plugin.engine.runtime.launch import build_train_config, run_training
from mae_plugin.fileio import PARTIAL_SUFFIX
from tests.helpers import in_process, layouts, processes
from tests.helpers.fsdp_runs import SCALED, last_checkpoint
from tests.helpers.in_process import train as train_in_process
from tests.helpers.layouts import assert_same_lrs, lrs, options
from tests.helpers.mmengine_runs import TINY, cli, demo_options, without_monitors
from tests.helpers.paths import DEMO, DEMO_FSDP, TRAIN


@pytest.mark.slow
def test_kill_during_a_save_then_resume_continues_from_the_last_complete(tmp_path, demo_root):
    work = str(tmp_path / 'run')
    options = demo_options(
        demo_root, 6, 2, **TINY, **{'default_hooks.checkpoint.max_keep_ckpts': 1}
    )
    config = tmp_path / 'killed_at_4.py'
    config.write_text(
        textwrap.dedent(f"""\
        _base_ = {DEMO!r}
        custom_imports = dict(imports=['mae_plugin', 'tests.helpers.scripts.kill_during_save'])
        custom_hooks = [dict(type='KillDuringSaveHook', at=4)]
    """)
    )
    argv = [sys.executable, TRAIN, str(config), '--work-dir', work, *cli(options)]
    killed = processes.run(argv, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert 'Saving checkpoint at 4 iterations' in killed.output
    # killed during the file write: bytes of iter_4 were on disk, under the temporary name
    written = re.search(r'kill -9 with (\d+) bytes of (\S+) on disk', killed.stderr)
    assert written and int(written[1]) > 0, killed.stderr[-3000:]
    assert written[2] == os.path.join(work, 'iter_4.pth' + PARTIAL_SUFFIX)
    assert os.path.isfile(written[2]) and not os.path.exists(os.path.join(work, 'iter_4.pth'))
    assert last_checkpoint(work) == os.path.join(work, 'iter_2.pth')
    torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)  # complete

    _, log = in_process.train(DEMO, work, options, '--resume')  # tools/train.py's functions
    assert 'resumed epoch: 0, iter: 2' in log
    assert last_checkpoint(work) == os.path.join(work, 'iter_6.pth')
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['iter_6.pth']


@pytest.mark.slow
def test_resume_never_runs_text_from_the_checkpoint(tmp_path, demo_root):
    work = str(tmp_path / 'run')
    # tools/train.py's functions in this process, without the monitors (not read here)
    off = {'default_hooks.knn': None, 'default_hooks.visualization': None}
    options = demo_options(demo_root, 2, 2, **TINY, **off)
    in_process.train(DEMO, work, options)
    marker = tmp_path / 'code_ran'
    payload = f"__import__('os').system('touch {marker}')\n"
    checkpoint = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)
    checkpoint['meta']['cfg'] = payload + checkpoint['meta']['cfg']
    checkpoint['meta']['config'] = payload  # the key MMEngine's own resume parses
    crafted = str(tmp_path / 'crafted.pth')
    torch.save(checkpoint, crafted)
    _, log = in_process.train(DEMO, work, options, '--resume', crafted)
    assert not marker.exists()
    assert 'resumed epoch: 0, iter: 2' in log
    assert "meta['config'] text ignored (never executed)" in log


@pytest.mark.slow
def test_auto_resume_continues_only_the_same_schedule(tmp_path, demo_root):
    def config(iters, resume=None):
        options = without_monitors(demo_options(demo_root, iters, 2, **TINY))
        cfg = build_train_config(
            DEMO, work_dir=str(tmp_path / 'run'), resume=resume, cfg_options=options
        )
        cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
        return cfg

    run_training(config(4))
    runner = run_training(config(4, resume='auto'))
    assert runner.iter == 4  # picked up iter_4.pth: nothing left to train
    with pytest.raises(ValueError, match='another schedule.*train_cfg'):
        run_training(config(8, resume='auto'))


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
    fresh_lrs = layouts.in_process(tmp_path, demo_root, 'fresh', config, **SCALED)  # the reference
    # resumed on one process: tools/train.py's functions in this process (in_process.py)
    _, out = train_in_process(config, work, opts, '--resume', os.path.join(work, 'iter_2.pth'))
    resumed = lrs(work)
    assert sorted(resumed) == [3, 4]
    assert_same_lrs(resumed, fresh_lrs, (3, 4))
    assert 'resumed from a run of 2 processes x 4 x 1; lr rescaled from' in out
    assert 'x0.5) for 1 processes x 4 x 1' in out
