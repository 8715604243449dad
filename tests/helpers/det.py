"""What the mmdet transfer tests share: the demo Mask R-CNN config, the demo coins as a COCO
folder, and a user's own mmdet config with the lines of docs/detection.md."""

import glob
import os
import uuid

from tests.helpers.paths import ROOT
from tools.demo_data import prepare_coco_split

CONFIG = os.path.join(ROOT, 'configs', 'det', 'mask-rcnn_vit-t-mae_demo.py')

MMDET_MASK_RCNN = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

# The lines of docs/detection.md (section "In your own mmdet config") at the demo's sizes (a
# patch-8 ViT, so the pyramid starts from stride 8), then the user's data.
USER_CONFIG = """
_base_ = ['{base}']
custom_imports = dict(imports=['mae_plugin.det'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mae_plugin.MAEViTDet',
        arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3),
        img_size=128,
        window_size=4,
        global_blocks=(1,),{backbone_extra}
    ),
    neck=dict(
        _delete_=True, type='mae_plugin.MAESimpleFPN', in_channels=48, out_channels=256, in_stride=8
    ),
    roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)),
)
data_root = '{data_root}'
metainfo = dict(classes=('coin',))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(100, 100), keep_ratio=True),  # 79 x 100: off the 8-px grid
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)  # 3 images, batch 2: 2 iterations, then validation
default_hooks = dict(logger=dict(interval=1))
"""


def coco_folder(root):
    """The demo coins written as a COCO folder under ``root``; its path, ending in ``/``."""
    prepare_coco_split(root)
    return os.path.join(root, 'coco') + '/'


def user_cfg(tmp_path, coco_root, backbone_extra=''):
    """The user's config file in a folder of theirs (outside the repository), loaded as the
    Runner's users load it."""
    from mmengine.config import Config

    folder = tmp_path / 'my_project'
    folder.mkdir(exist_ok=True)
    path = folder / 'my_mask_rcnn_mae.py'
    path.write_text(
        USER_CONFIG.format(base=MMDET_MASK_RCNN, data_root=coco_root, backbone_extra=backbone_extra)
    )
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'user_{uuid.uuid4().hex[:8]}'
    return cfg


def runner_log(runner):
    return ''.join(open(f).read() for f in glob.glob(os.path.join(runner.log_dir, '*.log')))
