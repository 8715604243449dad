"""The Lightning schedule on resume: another batch and accumulation on one process follow the lr
rule; another schedule is refused."""

import pytest

from tests.helpers.lightning_lr import fit_lrs
from tests.helpers.lightning_runs import checkpoint_every, tiny_cli


def test_resuming_with_another_schedule_is_refused(tmp_path, with_corrupt):
    cli = tiny_cli(tmp_path, with_corrupt, callbacks=[checkpoint_every(2)])
    cli.trainer.fit(cli.model, cli.datamodule)
    longer = tiny_cli(
        tmp_path, with_corrupt, '--trainer.max_epochs', '3', callbacks=[checkpoint_every(2)]
    )
    with pytest.raises(ValueError, match=r'another schedule.*total_steps: 4 -> 6'):
        longer.trainer.fit(longer.model, longer.datamodule, ckpt_path='last')


def test_another_batch_and_accumulation_on_one_process_follow_the_lr_rule(
    tmp_path, demo_root, caplog
):
    run = tmp_path / 'run'
    first = fit_lrs(run, demo_root)  # batch 4 x 1: 5 steps an epoch
    other = ('--data.batch_size', '2', '--trainer.accumulate_grad_batches', '4')
    fresh = fit_lrs(tmp_path / 'fresh', demo_root, *other)  # 2 x 4: 3 steps of 10 batches
    caplog.clear()
    at_0 = run / 'checkpoints' / 'epoch_0.ckpt'
    resumed = fit_lrs(tmp_path / 'resumed', demo_root, *other, ckpt_path=at_0)
    assert len(resumed) == 10  # epoch 1 in batches of 2
    assert resumed == pytest.approx(fresh[10:], rel=1e-9, abs=1e-15)
    assert max(resumed) > max(first[5:])  # twice the effective batch, twice the lr
    assert 'resumed from a run of 1 processes x 4 x 1; lr rescaled from' in caplog.text

    # after the epoch's last batch, but before its end, Lightning would count the 5 batches
    # done against the new loader's 10: refused
    with pytest.raises(ValueError, match='from optimizer step 5, not written at the end of an'):
        fit_lrs(tmp_path / 'mid', demo_root, *other, ckpt_path=run / 'checkpoints' / 'step_5.ckpt')
    # another schedule stays refused, the layout changed or not
    with pytest.raises(ValueError, match=r'another schedule.*max_epochs: 2 -> 3'):
        fit_lrs(
            tmp_path / 'longer',
            demo_root,
            *other,
            '--trainer.max_epochs',
            '3',
            ckpt_path=at_0,
        )
