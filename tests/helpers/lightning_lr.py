"""The lr a tiny Lightning run trains each batch with (the resume-on-another-layout tests)."""

import pytorch_lightning as pl

from tests.helpers.lightning_runs import EPOCH_END, checkpoint_every, tiny_cli


class LrRecorder(pl.Callback):
    """The lr of every training batch."""

    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]['lr'])


def fit_lrs(root, demo_root, *extra, ckpt_path=None) -> list[float]:
    """The lr of every batch of the tiny run in ``root`` (checkpoints every 5 steps and at each
    epoch's end), resumed from ``ckpt_path`` when given."""
    cli = tiny_cli(root, demo_root, *extra, callbacks=[checkpoint_every(5), EPOCH_END])
    recorder = LrRecorder()
    cli.trainer.callbacks.append(recorder)
    cli.trainer.fit(cli.model, cli.datamodule, ckpt_path=ckpt_path)
    return recorder.lrs
