"""The backbone in a user's own mmdet config, as docs/detection.md shows it: a config file in the
user's folder on mmdet's own Mask R-CNN config (``mmdet::``), the page's ``custom_imports``,
backbone and neck lines, the demo coins and the tiny demo sizes, run by MMEngine's ``Runner``."""

import glob
import os
import uuid

import pytest
import torch

from tools.demo_data import prepare_coco_split

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


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco'))
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


def backbone_inputs(runner, batch):
    """Run one test step; the (H, W) the backbone saw."""
    seen = []
    handle = runner.model.backbone.register_forward_pre_hook(
        lambda _, args: seen.append(tuple(args[0].shape[-2:]))
    )
    runner.model.eval()
    with torch.no_grad():
        (result,) = runner.model.test_step(batch)
    handle.remove()
    return seen[0], result


@pytest.mark.slow
def test_readme_backbone_trains_from_the_checkpoint_and_infers_off_the_patch_grid(
    tmp_path, coco_root, pretrained_64
):
    from mmengine.runner import Runner

    path, mae = pretrained_64
    init_cfg = f"\n        init_cfg=dict(type='Pretrained', checkpoint='{path}'),"
    runner = Runner.from_cfg(user_cfg(tmp_path, coco_root, init_cfg))
    runner.train()  # 2 iterations, then whole-image validation on a 79 x 100 image
    log = runner_log(runner)
    # 2 blocks x 12 + patch embedding 2 + position table; cls token and final norm dropped
    assert 'MAEViTDet: loaded 27 tensors' in log and '(plugin format)' in log
    assert 'Epoch(train) [1][2/2]' in log
    for metric in ('bbox_mAP', 'segm_mAP'):
        assert 0.0 <= runner.message_hub.get_scalar(f'val/coco/{metric}').current() <= 100.0
    vit = runner.model.backbone.encoder.vit
    assert not torch.equal(vit.blocks[0].attn.qkv.weight, mae.encoder.vit.blocks[0].attn.qkv.weight)

    batch = next(iter(runner.val_dataloader))
    assert tuple(batch['inputs'][0].shape[-2:]) == (79, 100)
    # mmdet's Mask R-CNN preprocessor pads to a multiple of 32 (pad_size_divisor=32) ...
    seen, _ = backbone_inputs(runner, batch)
    assert seen == (96, 128)
    # ... and without it the backbone pads to the patch grid itself
    runner.model.data_preprocessor.pad_size_divisor = 1
    seen, result = backbone_inputs(runner, batch)
    assert seen == (79, 100)
    assert tuple(result.pred_instances.masks.shape[-2:]) == tuple(result.ori_shape)


def test_backbone_pretrained_is_init_cfg_and_both_are_named(tmp_path, coco_root, pretrained_64):
    """mmdet's older spelling, ``backbone=dict(pretrained=PATH)``: the same strict loader; with
    ``init_cfg`` as well, an error naming both."""
    from mmengine.runner import Runner

    path, mae = pretrained_64
    runner = Runner.from_cfg(user_cfg(tmp_path, coco_root, f"\n        pretrained='{path}',"))
    backbone = runner.model.backbone
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    runner.model.init_weights()
    torch.testing.assert_close(
        backbone.encoder.vit.blocks[1].mlp.fc2.weight, mae.encoder.vit.blocks[1].mlp.fc2.weight
    )
    assert 'MAEViTDet: loaded 27 tensors' in runner_log(runner)

    both = f"pretrained='{path}', init_cfg=dict(type='Pretrained', checkpoint='x.pth'),"
    with pytest.raises(
        ValueError, match=r"MAEViTDet: pretrained='.*iter_1\.pth' and init_cfg=.*x\.pth.*both set"
    ):
        Runner.from_cfg(user_cfg(tmp_path, coco_root, both))
