"""``MAEImageFolder``: MMEngine's ``BaseDataset`` over ``mae_plugin.data``'s image-folder scan
(ImageNet layout ``root/train/<class>/*.JPEG``, classes optional, the training split's class list
for every split), skipping and counting unreadable images."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ...data.folder import IMAGE_EXTENSIONS, read_classes, scan_image_folder
from ...data.image import CorruptImageError
from ..registry import DATASETS


def log_warning(message: str) -> None:
    """A warning of the data layer, into the run's log (MMEngine's current logger)."""
    print_log(message, logger='current', level=logging.WARNING)


@DATASETS.register_module()
class MAEImageFolder(BaseDataset):
    """Images of ``data_root/data_prefix['img_path']``, labels from class folders when present.

    Args:
        classes: the class list, label = index in it. None (default): the class folders of this
            split, sorted, empty ones included (an empty training class keeps its index; no
            image of it is seen). Validation and test splits give the training split's list:
            a path to the training folder (relative to ``data_root``, e.g. ``'train'``), a text
            file of names (one a line) or the names; a class folder of this split not in the
            list is an error. ``metainfo=dict(classes=...)`` says the same.
        on_corrupt: 'skip' (default) logs a warning naming the file, draws another image and
            counts the skip in the sample (``data_samples['num_skipped']``, summed over ranks
            into the training log by ``CorruptImageCounterHook``); 'error' raises. A file that
            vanished or became unreadable after the scan counts as corrupt.
        extensions: file endings that count as images (case-insensitive).
        Others: as MMEngine's ``BaseDataset``.
    """

    def __init__(self, data_root: str = '', data_prefix: dict | None = None,
                 pipeline: Sequence[Any] = (), classes: str | Sequence[str] | None = None,
                 on_corrupt: str = 'skip', extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 metainfo: dict | None = None, **kwargs: Any) -> None:
        if on_corrupt not in ('skip', 'error'):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        metainfo = dict(metainfo or {})
        if 'classes' in metainfo:
            if classes is not None:
                raise ValueError('give the class list once: classes=... or '
                                 'metainfo=dict(classes=...), not both')
            classes = metainfo.pop('classes')
        self.classes_source = classes
        self.on_corrupt = on_corrupt
        self.extensions = tuple(extensions)
        super().__init__(data_root=data_root, data_prefix=data_prefix or dict(img_path=''),
                         pipeline=list(pipeline), metainfo=metainfo, **kwargs)

    def load_data_list(self) -> list[dict]:
        classes = None if self.classes_source is None \
            else read_classes(self.classes_source, self.data_root)
        samples, classes = scan_image_folder(self.data_prefix['img_path'], self.extensions,
                                             classes, warn=log_warning)
        self._metainfo['classes'] = tuple(classes)
        return [dict(img_path=path, gt_label=label) for path, label in samples]

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        skipped = 0
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except CorruptImageError as err:
                if self.on_corrupt == 'error':
                    raise
                skipped += 1
                log_warning(f'skipped unreadable image {err.path!r} ({err.__cause__})')
                idx = self._rand_another()
                continue
            if isinstance(data, dict) and isinstance(data.get('data_samples'), dict):
                data['data_samples']['num_skipped'] = skipped
            return data
        raise RuntimeError(f'no decodable image after {self.max_refetch} tries in '
                           f'{self.data_prefix["img_path"]!r}')
