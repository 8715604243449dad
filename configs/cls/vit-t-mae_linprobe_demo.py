# Linear probe of the demo MAE (configs/mae_vit-t_demo.py, `make demo`) on the demo tiles:
# 20 classes, 240 train / 80 val tiles of 64 px (data/demo/knn). The official recipe (frozen
# encoder, cls token, BatchNorm without affine, LARS, warm-up + cosine) with sizes shrunk.
_base_ = [
    '../_base_/models/mae_linprobe.py',
    '../_base_/datasets/imagenet_linprobe.py',
    '../_base_/schedules/linprobe_lars_90e.py',
    '../_base_/cls_runtime.py',
    '../_base_/models/vit-t_demo.py',
]
img_size = 64
data_root = 'data/demo/knn'
model = dict(
    arch=dict(_delete_=True, **_base_.demo_vit),
    num_classes=20,
    img_size=img_size,
    init_cfg=dict(checkpoint='work_dirs/mae_vit-t_demo/iter_500.pth'))

train_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=img_size, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='MAERandomFlip', prob=0.5),
    dict(type='MAEPackInputs'),
]
test_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=img_size * 8 // 7, interpolation='bicubic'),  # 256 : 224
    dict(type='MAECenterCrop', size=img_size),
    dict(type='MAEPackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=40, num_workers=2, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=6.4))  # the recipe's lr at batch 16384, not rescaled
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', T_max=max_iters - 30, eta_min=0.0, by_epoch=False,
         begin=30, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=100, by_epoch=False, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
log_processor = dict(by_epoch=False)
