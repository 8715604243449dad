"""The Lightning run's non-finite rule: non-finite steps in a row stop it, naming the steps."""

import os

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.lightning_runs import checkpoint_every, tiny_cli


def test_non_finite_steps_in_a_row_stop_naming_the_steps(tmp_path, demo_root):
    # each step after the first is non-finite: skipped (tests/lightning/test_nonfinite.py),
    # and the 5th in a row stops the run at the next check (here the next checkpoint)
    cli = tiny_cli(
        tmp_path,
        demo_root,
        '--model.base_lr',
        '1e32',
        '--model.warmup_epochs',
        '0',
        callbacks=[checkpoint_every(1)],
    )
    with pytest.raises(
        FloatingPointError,
        match=r'non-finite loss or gradients at 5 optimizer steps in a row '
        r'\(optimizer steps 2 to 6\); max_consecutive_skips=5 was reached at optimizer step 6',
    ):
        cli.trainer.fit(cli.model, cli.datamodule)
    stepped = cli.trainer.global_step
    assert 1 <= stepped < 10
    for name in os.listdir(tmp_path / 'checkpoints'):
        state = load_checkpoint_file(tmp_path / 'checkpoints' / name)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name
