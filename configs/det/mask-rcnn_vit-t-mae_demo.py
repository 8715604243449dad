# Mask R-CNN on the demo MAE (configs/mae_vit-t_demo.py, `make demo`) on the demo COCO set
# (tools/prepare_demo_data.py): scikit-image's coins photograph and its mirror images, each coin
# an instance from a classical segmentation, in the real COCO layout. The ViTDet recipe
# (windowed + global attention, relative positions, simple pyramid, LSJ, AdamW with layer
# decay, warm-up + steps) with sizes and schedule shrunk for 2 CPU cores.
_base_ = [
    '../_base_/models/mask-rcnn_vitdet_mae_vit-b.py',
    '../_base_/datasets/coco_lsj_checked.py',
    '../_base_/schedules/vitdet_100e.py',
    '../_base_/det_runtime.py',
    '../_base_/models/vit-t_demo.py',
]
size = 128
channels = 64
model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchFixedSizePad', size=(size, size), pad_mask=True)]
    ),
    backbone=dict(
        arch=dict(_delete_=True, **_base_.demo_vit),
        img_size=size,
        window_size=4,
        global_blocks=(2, 5),  # a 16 x 16 grid, 4 x 4 windows
        init_cfg=dict(checkpoint='work_dirs/mae_vit-t_demo/iter_500.pth'),
    ),
    neck=dict(
        in_channels=_base_.demo_vit.embed_dim,
        out_channels=channels,
        in_stride=_base_.demo_vit.patch_size,
    ),
    # coins are ~15 px here: anchors of 16-256 px instead of 32-512
    rpn_head=dict(in_channels=channels, feat_channels=channels, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(
            in_channels=channels, conv_out_channels=channels, fc_out_channels=128, num_classes=1
        ),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels, num_classes=1),
    ),
)

data_root = 'data/demo/coco/'
metainfo = dict(classes=('coin',), palette=[(220, 20, 60)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=(size, size), ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=(size, size),
        recompute_bbox=True,
        allow_negative_crop=True,
    ),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    # no Pad to the crop size here (the preprocessor pads to a multiple of 32): mmcv's Pad
    # records the padded size as img_shape, and mmdet's CPU mask pasting then fails on boxes
    # predicted in the padding
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(
        times=20,
        dataset=dict(
            data_root=data_root,
            metainfo=metainfo,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=8),
            pipeline=train_pipeline,
        ),
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
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

# fp32 on the CPU (`--amp` turns bf16 autocast on); a short run wants a larger step.
max_iters = 200
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='mae_plugin.MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[160, 185], gamma=0.1
    ),
]
train_cfg = dict(max_iters=max_iters, val_interval=100)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=100, max_keep_ckpts=1))
