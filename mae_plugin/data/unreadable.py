"""Unreadable images by name, shared by every runner.

- A training dataset that replaces an unreadable image reports the files it could not read in
  the sample (``data_samples['skipped_files']``: the names joined by :data:`SEPARATOR`, '' when
  none); collated, a batch holds one such string per sample. A DataLoader worker holds its own
  dataset copy, so the batch is the only way the names reach the process that counts them.
- :class:`UnreadableFiles` keeps the distinct files of a run: a file met again (a retry, the next
  epoch, another rank) counts once. The union over ranks is an ``all_gather_object`` of the names
  new on each rank, run where every rank is; its sorted list is what checkpoints keep.

The monitors' fixed images skip unreadable files by themselves (``mae_plugin.monitor.views``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch.distributed as dist

SEPARATOR = '\0'  # the one character no file name holds


def join_names(names: Sequence[str]) -> str:
    """The ``skipped_files`` entry of one sample: ``names`` joined by :data:`SEPARATOR`."""
    return SEPARATOR.join(names)


def batch_names(field: Any) -> set[str]:
    """The file names a sample (a string) or a collated batch (a list of strings) reports."""
    entries = [field] if isinstance(field, str) else list(field or ())
    return {name for entry in entries for name in str(entry).split(SEPARATOR) if name}


def gather_names(names: list[str]) -> list[list[str]]:
    """Every rank's ``names`` (collective when a process group runs; else ``[names]``)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [names]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, names)
    return [list(each) for each in gathered]


def listing(names: Sequence[str], limit: int = 20) -> str:
    """``names`` for a log line, the first ``limit`` of them."""
    shown = ', '.join(repr(n) for n in names[:limit])
    return shown + (f', ... ({len(names) - limit} more)' if len(names) > limit else '')


class UnreadableFiles:
    """The distinct unreadable files of a run.

    ``add`` records what a batch reports on this rank (no collective); ``sync`` gathers the names
    new on any rank into ``known``, on every rank at once, and returns those new to the run;
    ``state``/``restore`` are the plain list a checkpoint keeps. ``len()`` is the count as of the
    last ``sync``.
    """

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.pending: set[str] = set()  # met on this rank since the last sync, not yet known

    def __len__(self) -> int:
        return len(self.known)

    def add(self, field: Any) -> None:
        """Note the names a sample or batch ``field`` reports on this rank (no collective)."""
        self.pending |= batch_names(field) - self.known

    def sync(self, gather: Callable[[list[str]], list[list[str]]] = gather_names) -> list[str]:
        """Gather every rank's pending names (collective); returns the names no rank knew."""
        gathered = gather(sorted(self.pending))
        new = sorted(set().union(*map(set, gathered)) - self.known)
        self.known.update(new)
        self.pending.clear()
        return new

    def state(self) -> list[str]:
        """The sorted names known at the last ``sync``: what a checkpoint keeps."""
        return sorted(self.known)

    def restore(self, names: Iterable[str]) -> None:
        """Continue from a checkpoint's list (a resumed run)."""
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f'corrupt_images: expected a list of file names, got {names!r}')
        self.known = set(names)
        self.pending -= self.known
