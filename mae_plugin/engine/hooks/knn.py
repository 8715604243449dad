"""Representation monitor: weighted kNN top-1 of encoder features during pretraining.

This hook says when and where to log; the measurement is ``mae_plugin.monitor.knn.KNNProbe``.
"""

from __future__ import annotations

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...monitor.knn import KNNProbe
from ..pretrain.dataset import log_warning
from ..registry import HOOKS
from .ranks import bare_model, computes_here, normalizer


@HOOKS.register_module()
class KNNMonitorHook(Hook):
    """Log the weighted kNN top-1 of the encoder's features on a labelled folder as ``knn_top1``.

    Before training (``before_train=True``, the default: the starting point a curve needs),
    every ``interval`` epochs (or iterations with ``by_epoch=False``) and after training, it
    extracts unmasked encoder features of a small labelled image folder
    (``data_root/train/<class>/*``, ``data_root/val/<class>/*``; resize + centre crop) and
    scores the validation split by cosine-similarity kNN (k = 20, temperature 0.07 by default).

    Labels are the indices of the training split's class folders; the validation split maps to
    them (a class it lacks moves nothing; a class only it has is an error). Every image must
    lie in a class folder. Rank 0 measures and logs; with a sharded model (FSDP2) every rank
    takes part in the forwards.

    Args:
        data_root: folder holding the two splits.
        interval: epochs (or iterations) between measurements.
        by_epoch: count ``interval`` in epochs, else in iterations.
        k: neighbours that vote.
        temperature: softness of the vote weights.
        pool: 'cls' (the cls token) or 'avg' (the mean of the patch tokens).
        batch_size: images per encoder forward.
        train_prefix: sub-folder of the neighbours.
        val_prefix: sub-folder of the scored images.
        before_train: measure once before the first step.
    """

    priority = 'LOW'

    def __init__(
        self,
        data_root: str,
        interval: int = 10,
        by_epoch: bool = True,
        k: int = 20,
        temperature: float = 0.07,
        pool: str = 'cls',
        batch_size: int = 64,
        train_prefix: str = 'train',
        val_prefix: str = 'val',
        before_train: bool = True,
    ) -> None:
        self.probe = KNNProbe(
            data_root, k, temperature, pool, batch_size, train_prefix, val_prefix, log_warning
        )
        self.interval, self.by_epoch = interval, by_epoch
        self.at_start = before_train  # not self.before_train: that is the hook method
        self._last_step = -1

    def evaluate(self, runner) -> float:
        """The runner's current encoder's kNN top-1 in %, measured by the probe."""
        model = bare_model(runner)

        def encode(inputs: torch.Tensor) -> torch.Tensor:
            return model(inputs, mode='features')  # through the root: FSDP2 gathers there

        return self.probe.evaluate(model.mae.encoder, normalizer(model), encode)

    def _run(self, runner, step: int) -> None:
        if not computes_here(runner) or step == self._last_step:
            return
        self._last_step = step
        accuracy = self.evaluate(runner)  # every rank of a sharded model computes
        if runner.rank != 0:
            return
        # one row at the step it was measured (through the message hub the logger would repeat
        # the last value in every later training row, as if measured there)
        runner.visualizer.add_scalars({'knn_top1': accuracy}, step=step)
        print_log(f'{self.probe.describe()}: {accuracy:.2f}% at iteration {step}', logger='current')

    def before_train(self, runner) -> None:
        """Measure the starting point (step 0, or the resumed iteration) if ``before_train``."""
        if self.at_start:  # step 0, or the resumed iteration (the same weights as its row)
            self._run(runner, runner.iter)

    def after_train_epoch(self, runner) -> None:
        """Measure every ``interval`` epochs when counting by epoch."""
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self._run(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Measure every ``interval`` iterations when counting by iteration."""
        if not self.by_epoch and self.every_n_train_iters(runner, self.interval):
            self._run(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        """Measure the final encoder (skipped when that step was just measured)."""
        self._run(runner, runner.iter)
