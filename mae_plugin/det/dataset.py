"""COCO with errors that name the problem before training starts.

A missing annotation file, or an image the annotation file lists but the image folder lacks.
"""

from __future__ import annotations

import os

from mmdet.datasets import CocoDataset

from ..engine.registry import DATASETS


@DATASETS.register_module()
class MAECocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` (pycocotools underneath) that checks its files up front."""

    def load_data_list(self) -> list[dict]:
        """The stock list of images and annotations, once every file it names is found.

        Raises:
            FileNotFoundError: the annotation file, or an image it lists, is missing.
        """
        if not os.path.isfile(self.ann_file):
            raise FileNotFoundError(f'COCO annotation file {self.ann_file!r} does not exist')
        data_list = super().load_data_list()
        missing = [d['img_path'] for d in data_list if not os.path.isfile(d['img_path'])]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} image(s) listed in {self.ann_file!r} are not in '
                f'{self.data_prefix.get("img", "")!r}, e.g. {missing[0]!r}'
            )
        return data_list
