# UperNet on the demo MAE (configs/mae_vit-t_demo.py, `make demo`) on the demo segmentation set
# (tools/prepare_demo_data.py): 16 training / 4 validation photographs in the ADE20K layout,
# 4 classes from a multi-Otsu segmentation of each photograph. The paper's setup (relative
# position bias, layer scale, Feature2Pyramid, UPerHead + FCN auxiliary head, AdamW with layer
# decay, warm-up + poly, sliding-window test) with sizes and schedule shrunk for 2 CPU cores.
_base_ = [
    '../_base_/models/upernet_mae_vit-b.py',
    '../_base_/datasets/ade20k_checked.py',
    '../_base_/schedules/seg_adamw_160k.py',
    '../_base_/seg_runtime.py',
    '../_base_/models/vit-t_demo.py',
]
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs a GPU process group
num_classes = 4
width = _base_.demo_vit.embed_dim
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(_delete_=True, **_base_.demo_vit),
        img_size=64,
        out_indices=(1, 2, 3, 5),
        init_cfg=dict(checkpoint='work_dirs/mae_vit-t_demo/iter_500.pth'),
    ),
    neck=dict(embed_dim=width, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[width] * 4, channels=64, num_classes=num_classes, norm_cfg=norm_cfg
    ),
    auxiliary_head=dict(in_channels=width, channels=32, num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(43, 43)),
)  # 341 : 512

data_root = 'data/demo/seg'
metainfo = dict(
    classes=('dark', 'mid-dark', 'mid-bright', 'bright'),
    palette=[[40, 40, 40], [100, 100, 160], [160, 200, 100], [240, 240, 200]],
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='mae_plugin.MAECheckSegMap'),
    dict(type='RandomResize', scale=(256, 64), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    # no PhotoMetricDistortion: the demo labels are grey-level bands, which it would move
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 64), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='mae_plugin.MAECheckSegMap'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        type='mae_plugin.MAESegDataset',
        data_root=data_root,
        metainfo=metainfo,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    dataset=dict(
        type='mae_plugin.MAESegDataset',
        data_root=data_root,
        metainfo=metainfo,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

max_iters = 400
# fp32 on the CPU (`--amp` turns bf16 autocast on); a short run wants a larger step than 1e-4.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mae_plugin.MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=1),
)
