"""Mask R-CNN on the MAE ViT end to end through mmdet: a tiny COCO set made from scikit-image's
coins (instances from a classical segmentation, real COCO JSON), a few iterations from a plugin
MAE checkpoint, bbox and segm AP through pycocotools; and the errors that name a bad dataset or
checkpoint."""

import json
import os
import shutil

import pytest
import torch

from tests.helpers import in_process
from tests.helpers.paths import ROOT
from tools.demo_data import prepare_coco_split

CONFIG = os.path.join(ROOT, 'configs', 'det', 'mask-rcnn_vit-t-mae_demo.py')


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco'))
    prepare_coco_split(root)
    return os.path.join(root, 'coco') + '/'


@pytest.fixture
def pretrained(pretrained_64):
    return pretrained_64  # 48 dims, 2 blocks, 3 heads, 64 px, patch 8


def options(data_root, checkpoint, iters=4):
    opts = {
        'model.backbone.arch.embed_dim': 48,
        'model.backbone.arch.depth': 2,
        'model.backbone.global_blocks': '"(1,)"',
        'model.backbone.init_cfg.checkpoint': checkpoint,
        'model.neck.in_channels': 48,
        'train_dataloader.dataset.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'val_evaluator.ann_file': data_root + 'annotations/instances_val.json',
        'test_evaluator.ann_file': data_root + 'annotations/instances_val.json',
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    return opts


@pytest.mark.slow
def test_mask_rcnn_trains_from_a_plugin_checkpoint_then_tests(tmp_path, coco_root, pretrained):
    path, mae = pretrained
    work = str(tmp_path / 'det')
    opts = options(coco_root, path)
    # tools/train.py's functions, in this process: docs/detection.md runs the config through
    # the command line (tests/docs)
    _, out = in_process.train(CONFIG, work, opts)
    # 2 blocks x 12 + patch embedding 2 + position table; cls token and final norm dropped
    assert 'MAEViTDet: loaded 27 tensors' in out and '(plugin format)' in out
    assert 'coco/bbox_mAP' in out and 'coco/segm_mAP' in out
    trained = os.path.join(work, 'iter_4.pth')
    # tools/test.py's functions, in this process
    metrics, _ = in_process.evaluate(CONFIG, trained, str(tmp_path / 'test'), opts)
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0.0 <= metrics[metric] <= 100.0
    state = torch.load(trained, weights_only=True)['state_dict']
    assert state['backbone.encoder.vit.pos_embed'].shape == (1, 16, 16, 48)


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


def test_backbone_checkpoint_of_another_architecture_is_refused(pretrained):
    import mae_plugin.det  # noqa: F401
    from mae_plugin.det.backbone import MAEViTDet

    path, _ = pretrained  # 48-dim encoder
    model = MAEViTDet(
        arch=dict(patch_size=8, embed_dim=96, depth=2, num_heads=3),
        img_size=64,
        window_size=4,
        global_blocks=(1,),
        init_cfg=dict(type='Pretrained', checkpoint=path),
    )
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        model.init_weights()


@pytest.mark.slow
def test_mask_rcnn_trains_with_amp_on_cpu(tmp_path, coco_root, pretrained):
    """``--amp`` on the CPU: the plugin's bf16 wrapper, found from the mmdet scope."""
    path, _ = pretrained
    work = str(tmp_path / 'det_amp')
    opts = options(coco_root, path, iters=2)
    runner, log = in_process.train(CONFIG, work, opts, '--amp')  # tools/train.py's functions
    assert "type='mae_plugin.CPUAmpOptimWrapper'" in log
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP' in log
    state = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)['state_dict']
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
