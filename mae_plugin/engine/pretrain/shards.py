"""``MAEShardStream`` and ``ShardStreamTrainLoop``: the tar-shard stream on MMEngine.

``MAEShardStream`` is :class:`~mae_plugin.data.shards.ShardStream` with the pipeline from the
config and the rank and world size from the process group; ``ShardStreamTrainLoop`` is the
iteration-based loop that lets the stream resume itself.

Config (``configs/mae_vit-t_demo_shards.py``)::

    train_dataloader = dict(sampler=None, persistent_workers=False,
                            dataset=dict(type='MAEShardStream', data_root=..., shards='*.tar',
                                         pipeline=[...]))
    train_cfg = dict(type='ShardStreamTrainLoop', max_iters=...)
    custom_hooks = [dict(type='ShardStreamStateHook')]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from mmengine.dataset import Compose
from mmengine.dist import get_dist_info
from mmengine.runner import IterBasedTrainLoop

from ...data.folder import read_classes
from ...data.shards import ShardStream
from ..registry import DATASETS, LOOPS, TRANSFORMS


@DATASETS.register_module()
class MAEShardStream(ShardStream):
    """Tar shards under ``data_root`` through the folder dataset's pipeline.

    Args:
        shards: pattern(s) relative to ``data_root``: braces, globs or a list.
        pipeline: transform configs, as ``MAEImageFolder``'s (``MAELoadImage`` reads the bytes).
        classes: the class list (a text file relative to ``data_root``, e.g. the
            ``classes.txt`` that ``tools/pack_shards.py`` writes, or the names); None: no names.
        seed: shard order and in-shard shuffle, with the epoch; the same on every rank.
        data_root: as :class:`~mae_plugin.data.shards.ShardStream`.
        buffer: as :class:`~mae_plugin.data.shards.ShardStream`.
        on_corrupt: as :class:`~mae_plugin.data.shards.ShardStream`.
    """

    def __init__(
        self,
        shards: str | Sequence[str],
        data_root: str = '',
        pipeline: Sequence[Any] = (),
        classes: str | Sequence[str] | None = None,
        seed: int = 0,
        buffer: int = 1000,
        on_corrupt: str = 'skip',
    ) -> None:
        rank, world_size = get_dist_info()
        transform = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])
        super().__init__(
            shards, transform, data_root, rank, world_size, seed, buffer, None, on_corrupt
        )
        names = () if classes is None else read_classes(classes, data_root)
        self.metainfo = dict(classes=tuple(names))


class _Resumed:
    """The loader's iterator, answering MMEngine's replay of the first batches with None.

    MMEngine skips trained data by replaying ``replayed`` batches; the stream itself starts
    after them.
    """

    def __init__(self, iterator: Iterator, replayed: int) -> None:
        self.iterator, self.replayed = iterator, replayed

    def __iter__(self) -> _Resumed:
        return self

    def __next__(self) -> Any:
        if self.replayed:
            self.replayed -= 1
            return None
        return next(self.iterator)


@LOOPS.register_module()
class ShardStreamTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` over a :class:`ShardStream` that resumes where the checkpoint says.

    ``ShardStreamStateHook`` hands the position to the dataset, instead of the stock loop
    decoding and dropping every batch trained before.
    """

    def run(self) -> Any:
        """Train; a resumed run skips MMEngine's replay of the trained batches.

        Raises:
            TypeError: the dataset is not a ``ShardStream``.
            ValueError: resuming with ``persistent_workers=True``.
        """
        if not isinstance(self.dataloader.dataset, ShardStream):
            raise TypeError(
                'ShardStreamTrainLoop needs a ShardStream dataset (MAEShardStream), got '
                f'{type(self.dataloader.dataset).__name__}'
            )
        if self._iter > 0:
            if self.dataloader.persistent_workers:
                # persistent workers keep the dataset copy from before the resume position
                raise ValueError(
                    'resuming a shard stream needs train_dataloader.persistent_workers=False '
                    '(an endless stream never restarts its workers anyway)'
                )
            self.dataloader_iterator = _Resumed(iter(self.dataloader), self._iter)
        with warnings.catch_warnings():
            # the stream is endless by design: torch warns at every batch past its nominal
            # length (len(), which MMEngine asks for its schedulers) once it has been asked
            warnings.filterwarnings('ignore', message='Length of IterableDataset')
            return super().run()
