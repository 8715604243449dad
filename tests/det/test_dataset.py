"""The demo COCO set through mmdet's dataset: real COCO, and the errors that name a missing
annotation file or an image listed but absent."""

import json
import os
import shutil

import pytest

from tests.helpers.det import CONFIG


def build_dataset(data_root, split='train'):
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    cfg = Config.fromfile(CONFIG)
    dataset = (
        cfg.train_dataloader.dataset.dataset if split == 'train' else cfg.val_dataloader.dataset
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(dict(dataset, data_root=data_root))


def test_coco_set_is_real_coco(coco_root):
    from pycocotools.coco import COCO

    coco = COCO(coco_root + 'annotations/instances_train.json')
    assert len(coco.getImgIds()) == 3 and coco.loadCats(1)[0]['name'] == 'coin'
    ann = coco.loadAnns(coco.getAnnIds())[0]
    mask = coco.annToMask(ann)
    assert abs(int(mask.sum()) - ann['area']) < 0.25 * ann['area']  # polygon matches the area
    assert len(build_dataset(coco_root)) == 3


def test_missing_annotation_file_is_named(tmp_path, coco_root):
    root = str(tmp_path / 'coco') + '/'
    shutil.copytree(coco_root, root)
    os.remove(root + 'annotations/instances_val.json')
    with pytest.raises(FileNotFoundError, match='instances_val.json.*does not exist'):
        build_dataset(root, 'val')


def test_image_listed_but_absent_is_named(tmp_path, coco_root):
    root = str(tmp_path / 'coco') + '/'
    shutil.copytree(coco_root, root)
    os.remove(root + 'train/coins_lr.jpg')
    with pytest.raises(FileNotFoundError, match=r'1 image\(s\) listed.*coins_lr.jpg'):
        build_dataset(root, 'train')
    with open(root + 'annotations/instances_val.json') as f:
        assert json.load(f)['images']  # the other split is untouched
