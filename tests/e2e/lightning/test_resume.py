"""Resuming a Lightning run on another layout (devices x batch x accumulate_grad_batches): runs on
2 processes (DDP and ``mae_fsdp2``) resumed on 1 device train with a fresh 1-device run's lr,
through ``tools/train_lightning.py fit --ckpt_path``; another schedule stays refused under
``mae_fsdp2`` (which restores after ``configure_optimizers``). ``mae_fsdp`` (FSDP1) refuses CPU
devices, so it is not run here; it restores as ``mae_fsdp2``."""

import json

import pytest

from tests.helpers.lightning_lr import fit_lrs
from tests.helpers.lightning_runs import (
    EPOCH_END,
    run_cli,
    step_recorder,
    tiny_args,
    two_process_fit,
)


def recorded(log):
    return [json.loads(line)['lr'] for line in open(log)]


@pytest.mark.slow
def test_two_processes_resumed_on_one_step_with_the_one_process_lr(
    tmp_path, demo_root, two_process_fits
):
    """DDP and mae_fsdp2 on 2 processes (2 steps an epoch), resumed on 1 device at the end of
    epoch 0: epoch 1 trains with a fresh 1-device run's lr; a longer max_epochs is refused
    under mae_fsdp2 too (it was accepted with the old cosine, whose end gives lr 0)."""
    fresh = fit_lrs(tmp_path / 'fresh', demo_root)  # 1 device, in this process: the reference
    assert len(fresh) == 10
    for strategy in ('ddp', 'mae_fsdp2'):
        at_0 = str(two_process_fits / strategy / 'checkpoints' / 'epoch_0.ckpt')  # step 2
        if strategy == 'mae_fsdp2':
            # restored after configure_optimizers, the schedule is checked all the same (DDP
            # restores before it, as the single process of
            # tests/lightning/test_schedule.py::test_resuming_with_another_schedule_is_refused)
            code, out = two_process_fit(
                tmp_path / 'longer',
                demo_root,
                strategy,
                '--trainer.max_epochs',
                '3',
                '--ckpt_path',
                at_0,
                callbacks=[EPOCH_END],
                check=False,
            )
            assert code != 0 and 'max_epochs: 2 -> 3' in out, out[-3000:]
        log = tmp_path / f'{strategy}_resumed.jsonl'
        args = tiny_args(
            tmp_path / f'{strategy}_resumed',
            demo_root,
            '--trainer.accelerator',
            'cpu',
            '--trainer.devices',
            '1',
            '--trainer.strategy',
            strategy,
            '--ckpt_path',
            at_0,
            callbacks=[EPOCH_END, step_recorder(log)],
        )
        _, out = run_cli(['fit', *args])
        assert recorded(log) == pytest.approx(fresh[5:], rel=1e-9, abs=1e-15), strategy
        assert 'resumed from a run of 2 processes x 4 x 1; lr rescaled from' in out, strategy
