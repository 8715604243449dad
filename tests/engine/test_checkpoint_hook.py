"""Nothing is lost: a kill or a refused NaN during a save leaves the last complete checkpoint
named in ``last_checkpoint``, and ``--resume`` continues from it."""

import os
import re
import signal
import sys
import textwrap

import pytest
import torch
from mmengine.hooks import Hook

from mae_plugin.fileio import PARTIAL_SUFFIX
from tests.helpers import in_process, processes
from tests.helpers.mmengine_runs import TINY, cli, demo_options, tiny_runner
from tests.helpers.paths import DEMO, TRAIN


def last_checkpoint(work):
    with open(os.path.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_nan_at_save_time_keeps_the_previous_checkpoint(tmp_path, demo_root):
    runner = tiny_runner(
        tmp_path,
        demo_root,
        **{
            'train_cfg.max_iters': 4,
            'default_hooks.checkpoint.interval': 2,
            'default_hooks.checkpoint.max_keep_ckpts': 1,
        },
    )

    class PoisonSecondSave(Hook):
        priority = 'HIGHEST'  # before FiniteWeightsHook looks

        def before_save_checkpoint(self, runner, checkpoint):
            if runner.iter + 1 == 4:
                checkpoint['state_dict']['mae.decoder.pred.bias'] = torch.tensor(float('nan'))

    runner.register_hook(PoisonSecondSave())
    with pytest.raises(FloatingPointError, match='mae.decoder.pred.bias'):
        runner.train()
    work = str(tmp_path / 'run')
    kept = os.path.join(work, 'iter_2.pth')
    assert last_checkpoint(work) == kept
    state = torch.load(kept, weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not os.path.exists(os.path.join(work, 'iter_4.pth'))


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


def test_a_write_killed_midway_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / 'iter_1.pth'
    torch.save({'step': torch.tensor(1)}, path)
    writer = textwrap.dedent(f"""\
        import os, signal, torch, io
        from mae_plugin.fileio import atomic_open
        data = io.BytesIO()
        torch.save({{'step': torch.arange(100000)}}, data)
        with atomic_open({str(path)!r}) as f:
            f.write(data.getvalue()[:1000])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = processes.python('-c', writer, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert torch.load(path, weights_only=True)['step'] == 1  # the old file, whole
    assert os.path.getsize(str(path) + PARTIAL_SUFFIX) == 1000  # the torn write, aside
