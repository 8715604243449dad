"""Test callback for CLI runs
(``class_path: tests.helpers.scripts.lightning_nan_probe.NaNLossOnRank``): the decoder's output is
NaN at the given 0-based optimizer steps, on one rank only."""

import pytorch_lightning as pl


class NaNLossOnRank(pl.Callback):
    def __init__(self, steps: list[int], rank: int) -> None:
        self.steps, self.rank, self.now = set(steps), rank, False

    def on_fit_start(self, trainer, pl_module) -> None:
        pl_module.mae.decoder.pred.register_forward_hook(
            lambda m, a, out: out * float('nan') if self.now else out
        )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.now = trainer.global_rank == self.rank and trainer.global_step in self.steps
