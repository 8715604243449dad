"""An error that one rank finds stops every rank, quickly, each with the message: a NaN refused
at save time (rank 0 alone writes), a checkpoint that does not fit (MMEngine's strict load
raises on rank 0 alone), through tools/train.py --resume and tools/test.py.

The 2 processes are started as a cluster launcher starts them (``--launcher pytorch``, one
process per rank, no torchrun agent that would kill the others when one fails): a rank left
waiting would wait until the backend's timeout."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mae_plugin.engine.runtime.launch import run_training
from tests.helpers.mmengine_runs import (
    TINY,
    cli,
    demo_options,
    finetune_options,
    in_process_cfg,
    without_monitors,
)
from tests.helpers.paths import DEMO, ROOT, TRAIN
from tests.helpers.ports import free_port

TEST = os.path.join(ROOT, 'tools', 'test.py')


def two_ranks(tmp_path, args, timeout=300):
    """Run ``python ARGS --launcher pytorch`` as ranks 0 and 1 of one job. Returns, per rank,
    (return code, seconds until it ended, its output)."""
    port = free_port()
    start, procs, logs = time.monotonic(), [], []
    for rank in (0, 1):
        env = dict(
            os.environ,
            PYTHONPATH=ROOT,
            OMP_NUM_THREADS='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE='2',
            LOCAL_WORLD_SIZE='2',
        )
        logs.append(tmp_path / f'rank{rank}.log')
        with open(logs[-1], 'w') as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, *map(str, args), '--launcher', 'pytorch'],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    ended = [None, None]
    try:
        while None in ended:
            if time.monotonic() - start > timeout:
                raise AssertionError(f'ranks still running after {timeout} s: {ended}')
            for rank, proc in enumerate(procs):
                if ended[rank] is None and proc.poll() is not None:
                    ended[rank] = time.monotonic() - start
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print(f'ranks ended after {ended[0]:.1f} s and {ended[1]:.1f} s')  # seen with -s
    return [
        (p.returncode, t, open(log).read()) for p, t, log in zip(procs, ended, logs, strict=True)
    ]


def assert_every_rank_stopped_with(ranks, message):
    for rank, (code, _, out) in enumerate(ranks):
        assert code != 0, f'rank {rank} ended with 0'
        assert message in out, f'rank {rank}:\n{out[-3000:]}'
    # within seconds of each other, not after a collective's timeout
    assert abs(ranks[0][1] - ranks[1][1]) < 20, [t for _, t, _ in ranks]


@pytest.mark.slow
def test_nan_at_save_stops_every_rank_with_the_message(tmp_path, demo_root):
    config = tmp_path / 'nan_at_save.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "custom_imports = dict(imports=['mae_plugin', 'tests.helpers.scripts.rank_faults'])\n"
        "custom_hooks = [dict(type='PoisonAtSaveHook', at=4)]\n"
    )
    work = tmp_path / 'run'
    options = without_monitors(demo_options(demo_root, 8, 2, **TINY))
    ranks = two_ranks(tmp_path, [TRAIN, config, '--work-dir', work] + cli(options))
    assert_every_rank_stopped_with(
        ranks, "at iteration 4: weight 'mae.decoder.pred.bias' holds non-finite values"
    )
    assert 'FloatingPointError' in ranks[1][2]  # the same error on the rank that did not write
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() == str(work / 'iter_2.pth')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_root):
    """A checkpoint of 2 iterations of the tiny demo (1 process) and its options."""
    tmp = tmp_path_factory.mktemp('trained')
    options = {**TINY, 'default_hooks.checkpoint.interval': 2}
    run_training(in_process_cfg(tmp, demo_root, 2, monitors=False, **options))
    return str(tmp / 'run' / 'iter_2.pth')


WIDER = {'model.decoder.embed_dim': 16}  # another decoder: the checkpoint does not fit


@pytest.mark.slow
def test_resume_of_a_misfit_is_an_error_naming_the_file_on_one_process(
    tmp_path, demo_root, trained
):
    cfg = in_process_cfg(tmp_path, demo_root, 2, monitors=False, **{**TINY, **WIDER})
    cfg.resume, cfg.load_from = True, trained
    with pytest.raises(ValueError, match=r'iter_2\.pth.* does not fit MAEPretrainModel'):
        run_training(cfg)


@pytest.mark.slow
def test_resume_of_a_misfit_stops_every_rank_with_the_message(tmp_path, demo_root, trained):
    options = without_monitors(demo_options(demo_root, 2, 2, **{**TINY, **WIDER}))
    args = [TRAIN, DEMO, '--work-dir', tmp_path / 'run', '--resume', trained] + cli(options)
    ranks = two_ranks(tmp_path, args)
    assert_every_rank_stopped_with(ranks, 'iter_2.pth')
    for _, _, out in ranks:
        assert 'does not fit MAEPretrainModel' in out and 'size mismatch' in out
    torch.load(trained, weights_only=True)  # untouched


@pytest.mark.slow
def test_tools_test_py_of_a_misfit_stops_every_rank_with_the_message(
    tmp_path, demo_root, pretrained_64
):
    """tools/test.py of the classifier with an MAE pretraining checkpoint (other keys)."""
    path, _ = pretrained_64
    config = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')
    args = [TEST, config, path, '--work-dir', tmp_path / 'test'] + cli(
        finetune_options(demo_root, path)
    )
    ranks = two_ranks(tmp_path, args)
    assert_every_rank_stopped_with(ranks, f'checkpoint {path!r} does not fit MAEClassifier')


@pytest.mark.slow
def test_a_nan_burst_on_one_rank_is_skipped_and_stops_every_rank(tmp_path, demo_root):
    """NaN losses on rank 1 alone, iterations 1 to 9, checked every 10 steps: both ranks skip
    (the flag is all-reduced) and both stop naming iterations 1 to 5."""
    config = tmp_path / 'nan_on_rank_1.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "custom_imports = dict(imports=['mae_plugin', 'tests.helpers.scripts.nan_steps'])\n"
        "custom_hooks = [dict(type='NaNStepsHook', bad=list(range(9)), ranks=[1])]\n"
    )
    options = without_monitors(
        demo_options(demo_root, 12, 100, **TINY, **{'optim_wrapper.check_interval': 10})
    )
    ranks = two_ranks(tmp_path, [TRAIN, config, '--work-dir', tmp_path / 'run'] + cli(options))
    assert_every_rank_stopped_with(
        ranks, '(iterations 1 to 5); max_consecutive_skips=5 was reached at iteration 5'
    )
