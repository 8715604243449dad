# Linear probe of the demo MAE (configs/mae_vit-t_demo.py, `make demo`) on the demo tiles:
# 20 classes, 240 train / 80 val tiles of 64 px (data/demo/knn). The official recipe (frozen
# encoder, cls token, BatchNorm without affine, LARS, warm-up + cosine) with sizes shrunk.
_base_ = [
    '../_base_/models/mae_linprobe.py',
    '../_base_/datasets/demo_tiles.py',
    '../_base_/schedules/linprobe_lars_90e.py',
    '../_base_/cls_runtime.py',
    '../_base_/models/vit-t_demo.py',
]
model = dict(
    arch=dict(_delete_=True, **_base_.demo_vit),
    num_classes=20,
    img_size=_base_.img_size,
    init_cfg=dict(checkpoint='work_dirs/mae_vit-t_demo/iter_500.pth'),
)

train_pipeline = [step for step in _base_.train_pipeline if step.type != 'MAERandAugment']
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=6.4))  # the recipe's lr at batch 16384, not rescaled
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=30),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 30,
        eta_min=0.0,
        by_epoch=False,
        begin=30,
        end=max_iters,
    ),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        interval=100, by_epoch=False, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'
    ),
)
log_processor = dict(by_epoch=False)
