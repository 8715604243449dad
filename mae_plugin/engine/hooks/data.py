"""Data health in the training log: images skipped as unreadable, counted over all ranks."""
from __future__ import annotations

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook, LoggerHook

from ..registry import HOOKS


@HOOKS.register_module()
class CorruptImageCounterHook(Hook):
    """Log ``corrupt_images``: the images skipped as unreadable (``data_samples['num_skipped']``)
    since the start of training, summed over all ranks.

    Each rank counts its own skips; the sum is one ``all_reduce`` of one integer, a collective,
    so it runs at iterations every rank agrees on: those where the ``LoggerHook`` writes a line
    (the only reader), or every ``interval`` iterations when given, and after training.
    """

    priority = 'NORMAL'  # before the LoggerHook ('BELOW_NORMAL') reads the scalar

    def __init__(self, interval: int | None = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'interval must be a positive number of iterations, got {interval}')
        self.interval = interval
        self.local = 0  # this rank's skips
        self._logger: LoggerHook | None = None

    def before_train(self, runner) -> None:
        loggers = [hook for hook in runner.hooks if isinstance(hook, LoggerHook)]
        self._logger = loggers[0] if loggers else None

    def _due(self, runner, batch_idx: int) -> bool:
        if self.interval is not None:
            return self.every_n_train_iters(runner, self.interval)
        if self._logger is None:
            return False
        # the LoggerHook's own test for writing a line, without its ignore_last narrowing
        return self.every_n_inner_iters(batch_idx, self._logger.interval) \
            or self.end_of_epoch(runner.train_dataloader, batch_idx)

    def _publish(self, runner) -> None:
        total = torch.tensor(self.local, dtype=torch.int64)
        all_reduce(total, op='sum')  # does nothing without a process group
        runner.message_hub.update_scalar('train/corrupt_images', int(total))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        samples = (data_batch or {}).get('data_samples')
        if isinstance(samples, dict) and 'num_skipped' in samples:
            self.local += int(torch.as_tensor(samples['num_skipped']).sum())
        if self._due(runner, batch_idx):
            self._publish(runner)

    def after_train(self, runner) -> None:
        self._publish(runner)
