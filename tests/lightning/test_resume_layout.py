"""Resuming a Lightning run on another layout (devices x batch x accumulate_grad_batches): the lr
of every later batch is a fresh run's of the new layout, through ``Trainer.fit(ckpt_path=...)``
and ``tools/train_lightning.py fit --ckpt_path``; another schedule stays refused under every
strategy (single process, DDP and ``mae_fsdp2``, which restores after ``configure_optimizers``).
``mae_fsdp`` (FSDP1) refuses CPU devices, so it is not run here; it restores as ``mae_fsdp2``."""

import json

import pytest
import pytorch_lightning as pl

from tests.helpers.lightning_runs import (
    EPOCH_END,
    checkpoint_every,
    run_cli,
    step_recorder,
    tiny_args,
    tiny_cli,
    two_process_fit,
)

# 20 demo photographs, batch 4: 5 optimizer steps an epoch on 1 device, 2 on 2 (drop_last);
# 2 epochs, 1 of warm-up (tiny_args)


class LrRecorder(pl.Callback):
    """The lr of every training batch."""

    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]['lr'])


def fit(root, demo_root, *extra, ckpt_path=None):
    cli = tiny_cli(root, demo_root, *extra, callbacks=[checkpoint_every(5), EPOCH_END])
    recorder = LrRecorder()
    cli.trainer.callbacks.append(recorder)
    cli.trainer.fit(cli.model, cli.datamodule, ckpt_path=ckpt_path)
    return recorder.lrs


def test_another_batch_and_accumulation_on_one_process_follow_the_lr_rule(
    tmp_path, demo_root, caplog
):
    run = tmp_path / 'run'
    first = fit(run, demo_root)  # batch 4 x 1: 5 steps an epoch
    other = ('--data.batch_size', '2', '--trainer.accumulate_grad_batches', '4')
    fresh = fit(tmp_path / 'fresh', demo_root, *other)  # 2 x 4: 3 steps of 10 batches
    caplog.clear()
    at_0 = run / 'checkpoints' / 'epoch_0.ckpt'
    resumed = fit(tmp_path / 'resumed', demo_root, *other, ckpt_path=at_0)
    assert len(resumed) == 10  # epoch 1 in batches of 2
    assert resumed == pytest.approx(fresh[10:], rel=1e-9, abs=1e-15)
    assert max(resumed) > max(first[5:])  # twice the effective batch, twice the lr
    assert 'resumed from a run of 1 processes x 4 x 1; lr rescaled from' in caplog.text

    # after the epoch's last batch, but before its end, Lightning would count the 5 batches
    # done against the new loader's 10: refused
    with pytest.raises(ValueError, match='from optimizer step 5, not written at the end of an'):
        fit(tmp_path / 'mid', demo_root, *other, ckpt_path=run / 'checkpoints' / 'step_5.ckpt')
    # another schedule stays refused, the layout changed or not
    with pytest.raises(ValueError, match=r'another schedule.*max_epochs: 2 -> 3'):
        fit(
            tmp_path / 'longer',
            demo_root,
            *other,
            '--trainer.max_epochs',
            '3',
            ckpt_path=at_0,
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
    fresh = fit(tmp_path / 'fresh', demo_root)  # 1 device, in this process: the reference
    assert len(fresh) == 10
    for strategy in ('ddp', 'mae_fsdp2'):
        at_0 = str(two_process_fits / strategy / 'checkpoints' / 'epoch_0.ckpt')  # step 2
        if strategy == 'mae_fsdp2':
            # restored after configure_optimizers, the schedule is checked all the same (DDP
            # restores before it, as the single process of the test above)
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
