"""Data health in the training log: the distinct unreadable image files, over all ranks."""

from __future__ import annotations

import logging

from mmengine.hooks import Hook, LoggerHook
from mmengine.logging import print_log

from ...data.unreadable import UnreadableFiles, listing
from ..registry import HOOKS
from .checkpoint import gathered_for_save

KEY = 'corrupt_images'  # the checkpoint's sorted list of the files


@HOOKS.register_module()
class CorruptImageCounterHook(Hook):
    """Log ``corrupt_images``: the distinct image files found unreadable, over all ranks.

    Counted since the start of training, a resumed run included; each file (replaced by another
    image) is named once in the log.

    A dataset names the files it replaced in the batch (``data_samples['skipped_files']``): a
    file met again (a retry, the next epoch, another rank) counts once. Each rank keeps the names
    new to it; the union over ranks is one ``all_gather_object`` of those names, a collective,
    run where every rank is: at the iterations where the ``LoggerHook`` writes a line (or every
    ``interval`` iterations when given), after training, and before a checkpoint
    (``AtomicCheckpointHook`` calls :meth:`before_save_checkpoint_on_every_rank` on every rank).
    The checkpoint keeps the sorted list (``corrupt_images``); ``--resume`` continues from it.
    """

    priority = 'NORMAL'  # before the LoggerHook ('BELOW_NORMAL') reads the scalar

    def __init__(self, interval: int | None = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'interval must be a positive number of iterations, got {interval}')
        self.interval = interval
        self.files = UnreadableFiles()
        self.gathered_at: int | None = None  # runner.iter of the last gather
        self._logger: LoggerHook | None = None

    def before_train(self, runner) -> None:
        """Find the runner's ``LoggerHook``, whose lines decide when the names are gathered."""
        loggers = [hook for hook in runner.hooks if isinstance(hook, LoggerHook)]
        self._logger = loggers[0] if loggers else None

    def _due(self, runner, batch_idx: int) -> bool:
        if self.interval is not None:
            return self.every_n_train_iters(runner, self.interval)
        if self._logger is None:
            return False
        # the LoggerHook's own test for writing a line, without its ignore_last narrowing
        return self.every_n_inner_iters(batch_idx, self._logger.interval) or self.end_of_epoch(
            runner.train_dataloader, batch_idx
        )

    def _sync(self, runner) -> None:
        """Gather the names new on any rank (collective); rank 0 names them in the log."""
        new = self.files.sync()
        self.gathered_at = runner.iter
        if new and runner.rank == 0:
            print_log(
                f'{len(new)} unreadable image file(s) skipped (each replaced by another image; '
                f'{len(self.files)} in all): {listing(new)}',
                logger='current',
                level=logging.WARNING,
            )

    def _publish(self, runner) -> None:
        self._sync(runner)
        runner.message_hub.update_scalar('train/corrupt_images', len(self.files))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Note the batch's unreadable files; gather and publish the count when due."""
        samples = (data_batch or {}).get('data_samples')
        if isinstance(samples, dict) and 'skipped_files' in samples:
            self.files.add(samples['skipped_files'])
        if self._due(runner, batch_idx):
            self._publish(runner)

    def after_train(self, runner) -> None:
        """Gather and publish the final count (collective)."""
        self._publish(runner)

    def before_save_checkpoint_on_every_rank(self, runner) -> None:
        """Gather the names before a save, where every rank is (collective)."""
        self._sync(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the sorted list of names in ``checkpoint['corrupt_images']``."""
        if not gathered_for_save(runner, self.gathered_at, 'the unreadable files met'):
            self._sync(runner)  # one process: nothing to gather
        checkpoint[KEY] = self.files.state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On ``--resume``, continue from the checkpoint's list; ``load_from`` starts at 0."""
        if not runner.cfg.get('resume', False):
            return  # load_from (weights only): a new run counts from 0
        self.files.restore(checkpoint.get(KEY, []))  # none before files were named
