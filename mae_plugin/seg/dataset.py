"""Segmentation datasets in the ADE20K layout with errors that name the problem.

A missing split folder, an image without its label map, a label map whose size differs from its
image.
"""

from __future__ import annotations

import os
from typing import Any

from mmseg.datasets import ADE20KDataset, BaseSegDataset

from ..engine.registry import DATASETS, TRANSFORMS


class _CheckedSplit:
    """Check the split folders, and that every image has its label map, as mmseg lists them.

    The folders are ``data_root/images/<split>`` and ``data_root/annotations/<split>``.
    """

    def load_data_list(self) -> list[dict]:
        """The stock list of image and label-map pairs, checked.

        Raises:
            FileNotFoundError: a split folder, or an image's label map, is missing.
            ValueError: the split holds no image.
        """
        for key in ('img_path', 'seg_map_path'):
            folder = self.data_prefix.get(key, '')
            if not os.path.isdir(folder):
                raise FileNotFoundError(
                    f'ADE20K split folder {folder!r} ({key}) does not exist; the layout is '
                    'data_root/images/{training,validation}/*.jpg and '
                    'data_root/annotations/{training,validation}/*.png'
                )
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'no {self.img_suffix!r} images in {self.data_prefix["img_path"]!r}')
        for item in data_list:
            if not os.path.isfile(item['seg_map_path']):
                raise FileNotFoundError(
                    f'image {item["img_path"]!r} has no label map {item["seg_map_path"]!r}'
                )
        return data_list


@DATASETS.register_module()
class MAEADE20KDataset(_CheckedSplit, ADE20KDataset):
    """mmseg's ``ADE20KDataset`` (150 classes, ``reduce_zero_label``: label 0 = ignore), checked."""


@DATASETS.register_module()
class MAESegDataset(_CheckedSplit, BaseSegDataset):
    """Your classes in the ADE20K layout; name them with ``metainfo=dict(classes=...)``.

    ``images/<split>/*.jpg``, ``annotations/<split>/*.png``, label 0 = ignore by default.

    Args:
        img_suffix: ending of the image files.
        seg_map_suffix: ending of the label maps.
        reduce_zero_label: label 0 is ignored and the others shift down by one.
        **kwargs: ``BaseSegDataset``'s (``data_root``, ``data_prefix``, ``pipeline``, ...).
    """

    def __init__(
        self,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        reduce_zero_label: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@TRANSFORMS.register_module()
class MAECheckSegMap:
    """After ``LoadAnnotations``: the label map must have its image's original size."""

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        """Pass ``results`` on unchanged if ``gt_seg_map`` is (h, w) of ``ori_shape``.

        Raises:
            ValueError: the sizes differ, naming both files.
        """
        label_shape = tuple(results['gt_seg_map'].shape[:2])
        image_shape = tuple(results['ori_shape'][:2])
        if label_shape != image_shape:
            raise ValueError(
                f'label map {results.get("seg_map_path")!r} is {label_shape} '
                f'(h, w) but its image {results.get("img_path")!r} is '
                f'{image_shape}'
            )
        return results
