"""``corrupt_images`` of a Lightning run: the distinct unreadable files over all ranks.

Each file is named once in the log; the list is kept in the ``.ckpt`` and continued on resume
(the MMEngine hook's rule).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn

from ..data.unreadable import UnreadableFiles, listing


class CorruptImageTally:
    """The module's count of unreadable files (``data_samples['skipped_files']`` of the batches).

    On the steps whose metrics Lightning writes (every ``log_every_n_steps``, and the last batch
    of an epoch) and before a checkpoint, one integer is summed over ranks (the names new on each
    rank); only when it is not 0 are the names gathered (``all_gather_object``), so every rank
    holds the same count. Other steps make no collective and no host sync.
    """

    def __init__(self) -> None:
        self.files = UnreadableFiles()
        self.earlier = 0  # reads counted by a .ckpt written before files were named

    def __len__(self) -> int:
        return len(self.files) + self.earlier

    def _sync(self, trainer: pl.Trainer) -> None:
        if trainer.world_size > 1:
            strategy = trainer.strategy
            pending = torch.tensor([float(len(self.files.pending))], device=strategy.root_device)
            if strategy.reduce(pending, reduce_op='sum').item() == 0:
                return
        elif not self.files.pending:
            return
        new = self.files.sync()
        if new:
            rank_zero_warn(
                f'{len(new)} unreadable image file(s) skipped (each replaced by another image; '
                f'{len(self)} in all): {listing(new)}'
            )

    def step(self, samples: dict[str, Any], trainer: pl.Trainer) -> int:
        """Record the files a training batch names; return the count over all ranks.

        A collective on logged steps only: every rank reports the same count on every step.
        """
        self.files.add(samples.get('skipped_files', ()))
        every = max(int(trainer.log_every_n_steps), 1)
        if (trainer.global_step + 1) % every == 0 or trainer.is_last_batch:
            self._sync(trainer)
        return len(self)

    def state(self, trainer: pl.Trainer) -> list[str]:
        """The sorted names for the checkpoint (collective: every rank saves)."""
        self._sync(trainer)
        return self.files.state()

    def restore(self, saved: Any) -> None:
        """Continue from a checkpoint's ``corrupt_images``: the names, or a number of reads."""
        if isinstance(saved, int):
            self.earlier = saved
        else:
            self.files.restore(saved)
