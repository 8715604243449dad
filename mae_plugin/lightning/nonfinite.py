"""The plugin's non-finite rule (``mae_plugin/training/nonfinite.py``) on Lightning's loop.

``MAELightningModule`` calls :class:`NonFiniteSteps` from its hooks: ``observe`` in
``training_step`` (each micro-batch's loss, no host sync), ``before_optimizer_step`` in
``on_before_optimizer_step`` (after backward and the gradient all-reduce, before the update:
the flag of the loss, the gradients and every rank is armed on the device), ``after_batch`` in
``on_train_batch_end`` (disarms; reads the counters every ``check_interval`` steps, stopping every
rank alike), ``check`` before a checkpoint is written and at the end of training.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor

from ..training.nonfinite import SkipCounter, arm_skip, disarm


class NonFiniteSteps:
    """Skip-and-count of one module's optimizer steps.

    Args:
        max_consecutive_skips: stop after this many skipped optimizer steps in a row.
        check_interval: read the device counters every this many optimizer steps.
    """

    def __init__(self, max_consecutive_skips: int = 5, check_interval: int = 10) -> None:
        self.counter = SkipCounter(
            max_consecutive_skips, check_interval, 'optimizer step', rank_zero_warn
        )
        self._armed: torch.optim.Optimizer | None = None

    def observe(self, loss: Tensor) -> None:
        """Record whether a micro-batch's loss is finite, on the device (no host sync)."""
        self.counter.observe_loss(loss)

    @property
    def total(self) -> Tensor:
        """() float on the device: optimizer steps skipped so far."""
        return self.counter.total.float()

    def before_optimizer_step(
        self, module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """Arm the coming update with the skip flag of this step (step ``global_step + 1``)."""
        params = [p for g in optimizer.param_groups for p in g['params']]
        skip = self.counter.record(self.counter.flag(params), module.global_step + 1)
        scaler = getattr(module.trainer.precision_plugin, 'scaler', None)  # '16-mixed'
        inner = getattr(optimizer, 'optimizer', optimizer)  # a LightningOptimizer's
        arm_skip(inner, skip, scaler)
        self._armed = inner

    def after_batch(self) -> None:
        """Disarm the update; read the counters every ``check_interval`` steps."""
        if self._armed is not None:
            disarm(self._armed)
            self._armed = None
        if self.counter.due:
            self.counter.check()

    def check(self) -> int:
        """Read the counters now (one host sync); raise after too many skips in a row."""
        return self.counter.check()
