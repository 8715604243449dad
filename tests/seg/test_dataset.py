"""The demo ADE20K-layout set through mmseg's dataset: the errors that name a missing split
folder or a label map of another size."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.helpers.seg import CONFIG


def build_dataset(data_root, split='training'):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader if split == 'training' else cfg.val_dataloader
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(dict(loader.dataset, data_root=data_root))


def test_missing_split_folder_is_named(tmp_path, seg_root):
    root = str(tmp_path / 'ade')
    shutil.copytree(seg_root, root)
    shutil.rmtree(os.path.join(root, 'annotations', 'validation'))
    build_dataset(root, 'training')  # the other split still loads
    with pytest.raises(FileNotFoundError, match='annotations/validation.*does not exist'):
        build_dataset(root, 'validation')


def test_label_map_of_another_size_is_named(tmp_path, seg_root):
    root = str(tmp_path / 'ade')
    shutil.copytree(seg_root, root)
    label = os.path.join(root, 'annotations', 'training', 'astronaut.png')
    Image.fromarray(np.ones((10, 12), dtype=np.uint8)).save(label)
    dataset = build_dataset(root)
    index = next(
        i for i in range(len(dataset)) if dataset.get_data_info(i)['seg_map_path'] == label
    )
    with pytest.raises(ValueError, match=r'astronaut.png.* is \(10, 12\).*astronaut.jpg'):
        dataset[index]
