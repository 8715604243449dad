"""Where a shard stream stands, kept in the checkpoint.

A resumed run continues the epoch it was in without repeating a consumed sample.
"""

from __future__ import annotations

import torch
from mmengine.dist import all_gather, get_dist_info
from mmengine.hooks import Hook

from ...data.shards import ShardStream
from ..registry import HOOKS
from .checkpoint import gathered_for_save

KEY = 'shard_stream'


@HOOKS.register_module()
class ShardStreamStateHook(Hook):
    """Keep where every shard reader stands in the checkpoint, and resume the readers from it.

    It keeps every reader's last ``stream`` row (epoch, k-th shard, members consumed) as
    training consumes it, writes all readers' rows into the checkpoint, and on resume hands
    this rank's rows to the dataset (``ShardStreamTrainLoop`` then starts fresh workers).

    Checkpoints are written by rank 0 alone, so the rows of all ranks are gathered (one
    ``all_gather`` of ``world_size x workers x 3`` integers) only when a checkpoint is about to
    be written: ``AtomicCheckpointHook`` calls :meth:`before_save_checkpoint_on_every_rank` on
    every rank first. Training iterations only record this rank's rows (no collective, no sync).
    Under another checkpoint hook a multi-process run refuses to write stale rows.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.rows: torch.Tensor | None = None  # (readers, 3), all ranks
        self.local: torch.Tensor | None = None  # (workers, 3), this rank
        self.gathered_at: int | None = None  # runner.iter of the last gather

    def _layout(self, runner) -> tuple[ShardStream, int, int, int]:
        loader = runner.train_dataloader
        if not isinstance(loader.dataset, ShardStream):
            raise TypeError(
                f'ShardStreamStateHook needs a ShardStream dataset, got '
                f'{type(loader.dataset).__name__}'
            )
        rank, world_size = get_dist_info()
        return loader.dataset, rank, world_size, max(1, loader.num_workers)

    def before_train(self, runner) -> None:
        """Size the rows for this run's readers; note the layout the checkpoint will record."""
        stream, rank, world_size, workers = self._layout(runner)
        if self.local is None:
            self.local = torch.zeros(workers, 3, dtype=torch.int64)
            self.rows = torch.zeros(world_size * workers, 3, dtype=torch.int64)
        self.meta = dict(
            world_size=world_size, workers=workers, seed=stream.seed, num_shards=len(stream.paths)
        )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Record the batch's ``stream`` rows on this rank (no collective).

        Raises:
            KeyError: the batch has no ``data_samples['stream']``.
        """
        samples = (data_batch or {}).get('data_samples')
        if not isinstance(samples, dict) or 'stream' not in samples:
            raise KeyError("ShardStreamStateHook: the batch has no data_samples['stream']")
        _, rank, world_size, workers = self._layout(runner)
        for reader, *position in samples['stream'].tolist():  # a batch is one worker's
            self.local[reader - rank * workers] = torch.tensor(position)

    def before_save_checkpoint_on_every_rank(self, runner) -> None:
        """Gather every rank's rows for the checkpoint rank 0 is about to write."""
        if self.local is None:
            return
        world_size = get_dist_info()[1]
        self.rows = torch.cat(all_gather(self.local)) if world_size > 1 else self.local.clone()
        self.gathered_at = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the readers' rows and layout into ``checkpoint['shard_stream']``."""
        if self.local is None:
            return
        if not gathered_for_save(runner, self.gathered_at, 'the shard stream positions'):
            self.rows = self.local.clone()
        checkpoint[KEY] = dict(self.meta, readers=self.rows.clone())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On ``--resume``, hand this rank's rows to the dataset.

        Raises:
            KeyError: the checkpoint holds no shard stream state.
            ValueError: the reader layout (ranks, workers, seed, shard count) differs.
        """
        if not runner.cfg.get('resume', False):
            return  # load_from (weights only): the data starts at its beginning
        if KEY not in checkpoint:
            raise KeyError(
                f"the checkpoint has no '{KEY}' state: it was not written by a shard stream "
                'run with ShardStreamStateHook, so where the data stopped is unknown'
            )
        state = checkpoint[KEY]
        stream, rank, world_size, workers = self._layout(runner)
        now = dict(
            world_size=world_size, workers=workers, seed=stream.seed, num_shards=len(stream.paths)
        )
        then = {k: state[k] for k in now}
        if then != now:
            raise ValueError(
                f'the shard stream resumes only with the layout it stopped in: checkpoint {then}, '
                f'now {now}'
            )
        self.rows = state['readers'].clone()
        self.local = self.rows[rank * workers : (rank + 1) * workers].clone()
        batches = checkpoint['meta']['iter']  # every rank trained as many
        stream.resume_from(dict(enumerate(map(tuple, self.local.tolist()))), batches)
