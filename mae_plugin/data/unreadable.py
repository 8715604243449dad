"""Unreadable images by name, shared by every runner.

- A training dataset that replaces an unreadable image reports the files it could not read in
  the sample (``data_samples['skipped_files']``: the names joined by :data:`SEPARATOR`, '' when
  none); collated, a batch holds one such string per sample. A DataLoader worker holds its own
  dataset copy, so the batch is the only way the names reach the process that counts them.
- :class:`UnreadableFiles` keeps the distinct files of a run: a file met again (a retry, the next
  epoch, another rank) counts once. The union over ranks is an ``all_gather_object`` of the names
  new on each rank, run where every rank is; its sorted list is what checkpoints keep.
- :func:`read_fixed_views` reads the fixed images of a monitor (reconstruction pictures, kNN
  splits), skipping unreadable ones: a monitor never ends a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.distributed as dist

from .image import CorruptImageError, read_center_crop

SEPARATOR = '\0'  # the one character no file name holds
LOOK_AHEAD = 1000  # training files a monitor tries for its fixed images (the first readable)
Warn = Callable[[str], None]


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
        self.pending |= batch_names(field) - self.known

    def sync(self, gather: Callable[[list[str]], list[list[str]]] = gather_names) -> list[str]:
        """Gather every rank's pending names (collective); returns the names no rank knew."""
        gathered = gather(sorted(self.pending))
        new = sorted(set().union(*map(set, gathered)) - self.known)
        self.known.update(new)
        self.pending.clear()
        return new

    def state(self) -> list[str]:
        return sorted(self.known)

    def restore(self, names: Iterable[str]) -> None:
        """Continue from a checkpoint's list (a resumed run)."""
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f'corrupt_images: expected a list of file names, got {names!r}')
        self.known = set(names)
        self.pending -= self.known


def read_fixed_views(
    sources: Iterable[tuple[str, str | bytes]],
    size: int,
    count: int | None = None,
    warn: Warn | None = None,
    what: str = 'images',
) -> tuple[list[int], torch.Tensor]:
    """Evaluation views (shorter side to ``size``, centre crop) of the readable ``sources``.

    Args:
        sources: ``(name, path or encoded bytes)`` pairs, read in order (lazily).
        count: stop after this many readable images (None: read all).
        warn: told once, after reading, which files were skipped and why.
        what: what the images are for, in the warning.

    Returns:
        The positions in ``sources`` of the images kept, and the images, uint8 (N, 3, size, size)
        (N = 0 when none was readable).
    """
    kept: list[int] = []
    images: list[torch.Tensor] = []
    skipped: list[str] = []
    for position, (name, source) in enumerate(sources):  # lazily: no file read past count
        try:
            images.append(read_center_crop(source, size))
        except CorruptImageError as err:
            skipped.append(f'{name!r} ({err.__cause__ or err})')
            continue
        kept.append(position)
        if count is not None and len(images) >= count:
            break
    if skipped and warn is not None:
        done = 'left out' if count is None else 'skipped'
        instead = '' if count is None else ', read the next readable ones instead'
        warn(
            f'{what}: {done} {len(skipped)} unreadable image(s){instead}: '
            + '; '.join(skipped[:20])
            + (' ...' if len(skipped) > 20 else '')
        )
    stacked = torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8)
    return kept, stacked
