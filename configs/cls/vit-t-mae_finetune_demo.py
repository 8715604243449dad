# Fine-tune the demo MAE (configs/mae_vit-t_demo.py, `make demo`) on the demo tiles: 20 classes
# (one per scikit-image photograph), 240 train / 80 val tiles of 64 px (data/demo/knn).
# The official recipe (AdamW, layer decay, RandAugment, random erasing, mixup/cutmix, label
# smoothing, drop path, warm-up + cosine) with the sizes and the schedule shrunk.
_base_ = [
    '../_base_/models/mae_finetune.py',
    '../_base_/datasets/demo_tiles.py',
    '../_base_/schedules/finetune_adamw.py',
    '../_base_/cls_runtime.py',
    '../_base_/models/vit-t_demo.py',
]
model = dict(
    arch=dict(_delete_=True, **_base_.demo_vit),
    num_classes=20,
    img_size=_base_.img_size,
    drop_path_rate=0.1,
    init_cfg=dict(checkpoint='work_dirs/mae_vit-t_demo/iter_500.pth'),
)

# A short run wants a larger step than 5e-4 x 32 / 256 and a milder layer decay for 6 blocks.
lr = 1e-3
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=lr), paramwise_cfg=dict(layer_decay_rate=0.75))
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=30),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 30,
        eta_min_ratio=1e-6 / lr,
        by_epoch=False,
        begin=30,
        end=max_iters,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        interval=100, by_epoch=False, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'
    ),
)
log_processor = dict(by_epoch=False)
