"""Image-folder dataset in the ImageNet layout: ``root/train/<class>/*.JPEG``, classes optional."""
from __future__ import annotations

import os
from typing import Any, Sequence

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .registry import DATASETS
from .transforms import CorruptImageError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def scan_image_folder(folder: str, extensions: Sequence[str] = IMAGE_EXTENSIONS
                      ) -> tuple[list[tuple[str, int]], list[str]]:
    """List ``(path, label)`` pairs of ``folder``; label = index of the sorted class sub-folder,
    -1 for images directly in ``folder``. Returns the pairs and the class names."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    exts = tuple(e.lower() for e in extensions)

    def images_in(path: str) -> list[str]:
        found = []
        for root, dirs, files in os.walk(path, followlinks=True):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(exts)]
        return found

    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    classes = [e.name for e in entries if e.is_dir() and images_in(e.path)]
    samples = [(e.path, -1) for e in entries if e.is_file() and e.name.lower().endswith(exts)]
    for label, name in enumerate(classes):
        samples += [(path, label) for path in images_in(os.path.join(folder, name))]
    if not samples:
        raise ValueError(f'image folder {folder!r} holds no images with extensions {exts}')
    return samples, classes


@DATASETS.register_module()
class MAEImageFolder(BaseDataset):
    """Images of ``data_root/data_prefix['img_path']``, labels from class folders when present.

    Args:
        on_corrupt: 'skip' (default) logs a warning naming the file, draws another image and
            counts the skip in the sample (``data_samples['num_skipped']``, summed into the
            training log by ``CorruptImageCounterHook``); 'error' raises.
        extensions: file endings that count as images (case-insensitive).
        Others: as MMEngine's ``BaseDataset``.
    """

    def __init__(self, data_root: str = '', data_prefix: dict | None = None,
                 pipeline: Sequence[Any] = (), on_corrupt: str = 'skip',
                 extensions: Sequence[str] = IMAGE_EXTENSIONS, **kwargs: Any) -> None:
        if on_corrupt not in ('skip', 'error'):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        self.on_corrupt = on_corrupt
        self.extensions = tuple(extensions)
        super().__init__(data_root=data_root, data_prefix=data_prefix or dict(img_path=''),
                         pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> list[dict]:
        samples, classes = scan_image_folder(self.data_prefix['img_path'], self.extensions)
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
                print_log(f'skipped corrupt image {err.path!r} ({err.__cause__})',
                          logger='current', level=30)
                idx = self._rand_another()
                continue
            if isinstance(data, dict) and isinstance(data.get('data_samples'), dict):
                data['data_samples']['num_skipped'] = skipped
            return data
        raise RuntimeError(f'no decodable image after {self.max_refetch} tries in '
                           f'{self.data_prefix["img_path"]!r}')
