"""Streaming samples out of tar shards (webdataset layout: ``<key>.jpg`` + optional ``<key>.cls``).

webdataset reads the tars and expands brace patterns; the split over readers, the per-epoch order
and the resume position are ours: webdataset's ``split_by_node``/``split_by_worker`` and
``detshuffle`` give neither an exact once-per-epoch guarantee with uneven shard counts nor a
position to resume from (it restarts its epoch), so each reader here walks a deterministic list:

- the readers are ``world_size x num_workers`` (rank-major); every epoch the shards are permuted
  with a generator seeded by ``(seed, epoch)`` and reader ``r`` takes ``order[r::readers]``: the
  readers hold disjoint shards, every shard is read once per epoch. Fewer shards than readers is
  an error naming the counts (a reader without a shard would stop its rank's loader);
- inside a shard the members are shuffled through webdataset's buffer (``buffer`` samples),
  seeded by ``(seed, epoch, shard)``;
- every emitted sample carries ``stream = (reader, epoch, k, pos)``: the reader's ``k``-th shard
  of that epoch, ``pos`` members of it consumed (skipped ones included). The last ``stream`` a
  training step saw per reader is the whole resume state: a resumed reader skips ``k`` shards and
  ``pos`` members (read, not decoded) and goes on. It needs the same reader layout.

A reader streams epoch after epoch without end (``epochs=None``; an iteration-based loop never
restarts it), so its epochs are its own: with uneven shards one reader may be an epoch ahead of
another, and every image is still seen once per epoch of each reader. A truncated tar, an
undecodable image or a bad ``.cls`` is skipped, named in the next sample's ``skipped_files``
(a member as ``<shard>:<key>``, a damaged shard by its path) and counted in its ``num_skipped``.
"""

from __future__ import annotations

import glob
import logging
import os
import random
import tarfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info
from webdataset.filters import shuffle
from webdataset.shardlists import expand_urls
from webdataset.tariterators import base_plus_ext, group_by_keys, tar_file_expander

from .image import CorruptImageError
from .unreadable import join_names

_log = logging.getLogger(__name__)
IMAGE_MEMBERS = ('jpg', 'jpeg', 'png', 'webp', 'bmp', 'tif', 'tiff')
Position = tuple[int, int, int]  # (epoch, k-th shard of the reader in that epoch, members consumed)


def expand_shards(pattern: str | Sequence[str], root: str = '') -> list[str]:
    """The shard files of ``pattern``, in the pattern's order.

    Args:
        pattern: braces (``shard-{000000..000009}.tar``), globs (``*.tar``) or a list of
            either.
        root: the folder relative patterns are taken under.

    Raises:
        FileNotFoundError: a pattern matching nothing, or a brace name that is not a file,
            naming it.
        ValueError: no pattern, or a file matched twice.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    if not patterns:
        raise ValueError('shards: no shard pattern given')
    found: list[str] = []
    for item in patterns:
        matched: list[str] = []
        for name in expand_urls(os.path.join(root, item) if root else item):
            if glob.has_magic(name):
                matched += sorted(glob.glob(name))
            elif os.path.isfile(name):
                matched.append(name)
            else:
                raise FileNotFoundError(f'shard {name!r} (from pattern {item!r}) is not a file')
        if not matched:
            raise FileNotFoundError(f'shard pattern {item!r} matches no file (root {root!r})')
        found += matched
    repeated = sorted({path for path in found if found.count(path) > 1})
    if repeated:
        raise ValueError(f'shards: {repeated} are matched more than once by {patterns}')
    return found


def epoch_order(num_shards: int, seed: int, epoch: int) -> list[int]:
    """The shard permutation of ``epoch``: reader ``r`` of ``R`` reads ``order[r::R]``."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(num_shards, generator=generator).tolist()


def reader_shards(num_shards: int, seed: int, epoch: int, reader: int, readers: int) -> list[int]:
    """Indices of the shards that ``reader`` (of ``readers``) reads in ``epoch``, in order."""
    if num_shards < readers:
        raise ValueError(
            f'{num_shards} shards for {readers} readers (world_size x num_workers): every reader '
            'needs a shard; write smaller shards (pack_shards.py --shard-size) or use fewer '
            'workers'
        )
    return epoch_order(num_shards, seed, epoch)[reader::readers]


def read_members(path: str, errors: list[Exception]) -> Iterator[dict[str, Any]]:
    """Raw samples of one tar (``__key__`` plus one bytes value per member suffix), in file order.

    A truncated tar or an unreadable member ends up in ``errors`` instead of raising.
    """

    def keep_going(err: Exception) -> bool:
        errors.append(err)
        return True

    with open(path, 'rb') as stream:
        files = tar_file_expander([dict(url=path, stream=stream)], handler=keep_going)
        yield from group_by_keys(files, handler=keep_going)


def count_samples(path: str) -> int:
    """Samples (distinct keys) in a tar, from its headers alone.

    A truncated tar counts what is readable.
    """
    keys = set()
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                keys.add(base_plus_ext(member.name)[0])
    except (tarfile.TarError, OSError):
        pass  # read() reports and counts the damage when the stream reaches it
    return len(keys - {None})


def decode_member(raw: dict[str, Any], path: str) -> dict[str, Any]:
    """Raw tar sample -> pipeline input ``dict(img_bytes, img_name, gt_label)`` (-1: no class).

    Raises:
        CorruptImageError: no image member, or a ``.cls`` that is not an integer.
    """
    name = f'{path}:{raw["__key__"]}'
    image = next((ext for ext in IMAGE_MEMBERS if ext in raw), None)
    if image is None:
        members = sorted(k for k in raw if not k.startswith('__'))
        raise CorruptImageError(name, f'no image member among {members}')
    label = -1
    if 'cls' in raw:
        try:
            label = int(raw['cls'].decode('ascii'))
        except (UnicodeDecodeError, ValueError) as err:
            raise CorruptImageError(name, f'.cls {raw["cls"][:20]!r} is not an integer') from err
    return dict(img_bytes=raw[image], img_name=f'{name}.{image}', gt_label=label)


class _Damage(list):
    """The reading errors of one shard not yet reported, and whether its damage was counted."""

    counted = False


class ShardStream(IterableDataset):
    """Samples of tar shards through ``transform`` (the folder dataset's pipeline).

    Args:
        shards: pattern(s), see :func:`expand_shards`.
        transform: ``sample dict -> sample``; an unreadable image raises ``CorruptImageError``.
        root: the folder relative shard patterns are taken under.
        rank: this process in the job.
        world_size: processes in the job (readers = world_size x DataLoader workers).
        seed: seeds shard order and in-shard shuffle (with the epoch); equal on every rank.
        buffer: in-shard shuffle buffer, in samples (>= the shard size: a full permutation).
        epochs: epochs each reader streams; None: without end.
        on_corrupt: 'skip' counts and goes on; 'error' raises.
    """

    def __init__(
        self,
        shards: str | Sequence[str],
        transform: Callable[[dict], Any] | None = None,
        root: str = '',
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        buffer: int = 1000,
        epochs: int | None = None,
        on_corrupt: str = 'skip',
    ) -> None:
        if on_corrupt not in ('skip', 'error'):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is not in [0, world_size={world_size})')
        if buffer < 1:
            raise ValueError(f'buffer must hold at least one sample, got {buffer}')
        self.paths = expand_shards(shards, root)
        self.transform = transform
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.buffer, self.epochs, self.on_corrupt = buffer, epochs, on_corrupt
        self.start: dict[int, Position] = {}  # worker -> where it resumes
        self._length: int | None = None
        self.turn = 0  # loader worker w reads for worker (w + turn) % workers

    def __len__(self) -> int:
        """Nominal samples of one epoch on this rank: all samples / world size.

        Counted from the tar headers once: what an epoch-based schedule converts with. The
        stream itself does not stop there.
        """
        if self._length is None:
            total = sum(count_samples(path) for path in self.paths)
            self._length = -(-total // self.world_size)
        return self._length

    def get_data_info(self, index: int) -> dict[str, Any]:
        """The ``index``-th sample of the shards in file order, undecoded.

        A dict of ``img_bytes``, ``img_name``, ``gt_label``: fixed images for monitors
        (reconstruction pictures).
        """
        found = 0
        for path in self.paths:
            for raw in read_members(path, []):
                if found == index:
                    return decode_member(raw, path)
                found += 1
        raise IndexError(f'sample {index} asked for; the shards hold {found}')

    def resume_from(self, start: dict[int, Position], batches: int = 0) -> None:
        """Set where each of this rank's readers resumes; workers started after the call use it.

        A DataLoader takes batches from its workers in turn, starting at worker 0; a restarted
        one starts there again, so loader worker ``w`` becomes reader ``(w + batches) %
        workers``: the batches then come in the order the uninterrupted run had.

        Args:
            start: ``{worker: (epoch, k, pos)}``, as the last ``stream`` a training step saw.
            batches: batches this rank had taken when that was saved.
        """
        self.start = {int(w): tuple(int(v) for v in pos) for w, pos in start.items()}
        self.turn = batches

    def _shuffled(self, index: int, epoch: int, errors: list[Exception]) -> Iterator[dict]:
        rng = random.Random(f'{self.seed}/{epoch}/{index}')
        members = read_members(self.paths[index], errors)
        return shuffle(self.buffer, initial=self.buffer, rng=rng)(members)

    def _emit(self, sample: Any, skipped: list[str], stream: list[int]) -> Any:
        where = sample.get('data_samples') if isinstance(sample, dict) else None
        where = where if isinstance(where, dict) else sample
        if isinstance(where, dict):
            where['num_skipped'] = len(skipped)
            where['skipped_files'] = join_names(skipped)  # members, or a damaged shard's path
            where['stream'] = torch.tensor(stream, dtype=torch.int64)
        return sample

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        worker = (worker + self.turn) % workers
        reader, readers = self.rank * workers + worker, self.world_size * workers
        epoch, first_k, first_pos = self.start.get(worker, (0, 0, 0))
        skipped: list[str] = []
        while self.epochs is None or epoch < self.epochs:
            shards = reader_shards(len(self.paths), self.seed, epoch, reader, readers)
            for k in range(first_k, len(shards)):
                errors = _Damage()
                for pos, raw in enumerate(self._shuffled(shards[k], epoch, errors), 1):
                    if pos <= first_pos:
                        continue  # consumed before the resume: read, not decoded
                    try:
                        sample = decode_member(raw, self.paths[shards[k]])
                        if self.transform is not None:
                            sample = self.transform(sample)
                    except CorruptImageError as err:
                        if self.on_corrupt == 'error':
                            raise
                        _log.debug(f'skipped unreadable sample: {err} ({err.__cause__})')
                        skipped.append(err.path)
                        continue
                    skipped += self._counted(errors, self.paths[shards[k]])
                    yield self._emit(sample, skipped, [reader, epoch, k, pos])
                    skipped = []
                skipped += self._counted(errors, self.paths[shards[k]])
                first_pos = 0
            first_k = 0
            epoch += 1

    def _counted(self, errors: _Damage, path: str) -> list[str]:
        """``[path]`` the first time a shard's reading fails, else [].

        A truncated tar raises twice in webdataset's reader: it is one damaged shard. Raised
        with ``on_corrupt='error'``.
        """
        if not errors:
            return []
        if self.on_corrupt == 'error':
            raise CorruptImageError(path, f'tar: {errors[0]}') from errors[0]
        _log.warning(f'skipped the unreadable rest of shard {path!r}: {errors[0]}')
        errors.clear()
        first, errors.counted = not errors.counted, True
        return [path] if first else []
