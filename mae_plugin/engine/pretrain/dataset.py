"""``MAEImageFolder``: MMEngine's ``BaseDataset`` over ``mae_plugin.data``'s image-folder scan.

ImageNet layout ``root/train/<class>/*.JPEG``, classes optional, the training split's class list
for every split. Training replaces an unreadable image and names it in the sample; evaluation
(``test_mode=True``) never replaces one: an error, or a sample marked unreadable that the metric
drops and counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ...data.folder import IMAGE_EXTENSIONS, read_classes, scan_image_folder
from ...data.image import CorruptImageError
from ...data.unreadable import join_names
from ..registry import DATASETS


def log_warning(message: str) -> None:
    """A warning of the data layer, into the run's log (MMEngine's current logger)."""
    print_log(message, logger='current', level=logging.WARNING)


@DATASETS.register_module()
class MAEImageFolder(BaseDataset):
    """Images of ``data_root/data_prefix['img_path']``, labels from class folders when present.

    Args:
        data_root: the dataset's root folder.
        data_prefix: ``dict(img_path=SPLIT)``, the split's folder under ``data_root``.
        pipeline: transform configs or callables, applied to ``dict(img_path, gt_label)``.
        classes: the class list, label = index in it. None (default): the class folders of this
            split, sorted, empty ones included (an empty training class keeps its index; no
            image of it is seen). Validation and test splits give the training split's list:
            a path to the training folder (relative to ``data_root``, e.g. ``'train'``), a text
            file of names (one a line) or the names; a class folder of this split not in the
            list is an error. ``metainfo=dict(classes=...)`` says the same.
        on_corrupt: None (default): 'error' for evaluation (``test_mode=True``), else 'skip'.
            'error' raises, naming the file. 'skip' in training draws another image and names
            the unreadable files in the sample (``data_samples['skipped_files']``, joined by
            ``mae_plugin.data.unreadable.SEPARATOR``; ``num_skipped`` counts the reads);
            ``CorruptImageCounterHook`` counts and lists the distinct files over all ranks.
            'skip' in evaluation never replaces an image: the sample (a stand-in of the right
            shape) is marked ``data_samples['unreadable'] = path`` ('' for a readable one), and
            ``MAEAccuracy`` leaves it out and says how many it left out. A file that vanished or
            became unreadable after the scan counts as corrupt.
        extensions: file endings that count as images (case-insensitive).
        metainfo: as MMEngine's ``BaseDataset``.
        **kwargs: as MMEngine's ``BaseDataset``.
    """

    def __init__(
        self,
        data_root: str = '',
        data_prefix: dict | None = None,
        pipeline: Sequence[Any] = (),
        classes: str | Sequence[str] | None = None,
        on_corrupt: str | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        metainfo: dict | None = None,
        **kwargs: Any,
    ) -> None:
        if on_corrupt is None:
            on_corrupt = 'error' if kwargs.get('test_mode', False) else 'skip'
        if on_corrupt not in ('skip', 'error'):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        metainfo = dict(metainfo or {})
        if 'classes' in metainfo:
            if classes is not None:
                raise ValueError(
                    'give the class list once: classes=... or metainfo=dict(classes=...), not both'
                )
            classes = metainfo.pop('classes')
        self.classes_source = classes
        self.on_corrupt = on_corrupt
        self.extensions = tuple(extensions)
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path=''),
            pipeline=list(pipeline),
            metainfo=metainfo,
            **kwargs,
        )

    def load_data_list(self) -> list[dict]:
        """Scan the split: ``dict(img_path, gt_label)`` per image, -1 outside class folders."""
        classes = (
            None
            if self.classes_source is None
            else read_classes(self.classes_source, self.data_root)
        )
        samples, classes = scan_image_folder(
            self.data_prefix['img_path'], self.extensions, classes, warn=log_warning
        )
        self._metainfo['classes'] = tuple(classes)
        return [dict(img_path=path, gt_label=label) for path, label in samples]

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if self.test_mode:
            return self._evaluation_item(idx)
        skipped: list[str] = []
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except CorruptImageError as err:
                if self.on_corrupt == 'error':
                    raise
                skipped.append(err.path)  # CorruptImageCounterHook lists it once for the run
                print_log(f'replaced unreadable image {err!s}', 'current', logging.DEBUG)
                idx = self._rand_another()
                continue
            if isinstance(data, dict) and isinstance(data.get('data_samples'), dict):
                data['data_samples']['num_skipped'] = len(skipped)
                data['data_samples']['skipped_files'] = join_names(skipped)
            return data
        raise RuntimeError(
            f'no decodable image after {self.max_refetch} tries in {self.data_prefix["img_path"]!r}'
        )

    def _evaluation_item(self, idx: int) -> dict:
        """The sample ``idx``, never another image, or a marked stand-in when it is unreadable.

        An unreadable ``idx`` is an error, or (``on_corrupt='skip'``) the next readable image
        through the pipeline (only so that the batch collates) marked ``unreadable`` with the
        path of ``idx``.
        """
        try:
            data, unreadable = self.prepare_data(idx), ''
        except CorruptImageError as err:
            if self.on_corrupt == 'error':
                err.args = (
                    f'{err.args[0]}; an evaluation never replaces an image: remove the file, or '
                    "set the dataset's on_corrupt='skip' to score without it (the metric says "
                    'how many it left out)',
                )
                raise
            unreadable = err.path
            data = self._stand_in(idx)
        samples = data.get('data_samples') if isinstance(data, dict) else None
        if isinstance(samples, dict):
            samples['unreadable'] = unreadable
        elif unreadable:
            raise CorruptImageError(
                unreadable,
                "on_corrupt='skip' marks the sample of an unreadable image in its "
                "'data_samples' dict, which this pipeline does not make (end it with "
                'MAEPackInputs)',
            )
        return data

    def _stand_in(self, idx: int) -> dict:
        """The next readable sample after ``idx``: its content is never scored."""
        for step in range(1, min(self.max_refetch, len(self) - 1) + 1):
            try:
                return self.prepare_data((idx + step) % len(self))
            except CorruptImageError:
                continue
        raise RuntimeError(
            f'no readable image in {self.data_prefix["img_path"]!r} near index {idx} '
            f'({self.max_refetch} tried) to stand in for an unreadable one'
        )
