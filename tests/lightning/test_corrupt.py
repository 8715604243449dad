"""Unreadable images in a Lightning run are skipped and counted in the logged metrics, across
resumes."""

import pytorch_lightning as pl
import torch

from tests.helpers.lightning_runs import checkpoint_every, tiny_cli


class SkipCounter(pl.Callback):
    """Running total of the skips the batches report."""

    def __init__(self):
        self.totals = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        before = self.totals[-1] if self.totals else 0
        self.totals.append(before + int(batch['data_samples']['num_skipped'].sum()))


def test_unreadable_images_are_skipped_and_counted_in_the_logged_metrics(tmp_path, with_corrupt):
    run = tmp_path / 'run'
    cli = tiny_cli(run, with_corrupt, callbacks=[checkpoint_every(2)])
    counter = SkipCounter()
    cli.trainer.callbacks.append(counter)
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == 4 and len(counter.totals) == 4
    assert counter.totals[-1] >= 4  # each corrupt file is drawn once per epoch, 2 epochs
    # distinct files, not reads (tests/e2e/lightning/test_unreadable.py)
    assert cli.trainer.callback_metrics['corrupt_images'] == 2
    at_2 = torch.load(run / 'checkpoints' / 'step_2.ckpt', weights_only=True)
    assert len(at_2['corrupt_images']) == 2  # their names; the first epoch met both
    # resumed from step 2, the count goes on from the checkpoint's
    again = tiny_cli(run, with_corrupt, callbacks=[checkpoint_every(2)])
    more = SkipCounter()
    again.trainer.callbacks.append(more)
    again.trainer.fit(again.model, again.datamodule, ckpt_path=run / 'checkpoints' / 'step_2.ckpt')
    assert len(more.totals) == 2
    assert again.trainer.callback_metrics['corrupt_images'] == 2
