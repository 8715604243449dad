# Fine-tune a digits MAE (configs/reproduce/mae_vit-t_digits.py) on the labelled digits:
# 10 classes, 1,442 train / 355 val images of 32 px (data/demo/digits). The demo's fine-tuning
# recipe (configs/cls/vit-t-mae_finetune_demo.py: AdamW, layer decay, drop path, label
# smoothing, warm-up + cosine) at 32 px with patches of 4 on a short schedule, without the
# augmentations made for 100 ImageNet epochs (mixup/cutmix, random erasing, RandAugment: 100
# iterations with them stay near chance) and without the flip (a mirrored digit is another
# shape). tools/reproduce.py names the checkpoint with --cfg-options
# model.init_cfg.checkpoint=PATH.
_base_ = ['../cls/vit-t-mae_finetune_demo.py']
img_size = 32
data_root = 'data/demo/digits'
model = dict(
    arch=dict(patch_size=4),
    num_classes=10,
    img_size=img_size,
    data_preprocessor=dict(random_erasing=None, mixup=None),
    init_cfg=dict(checkpoint='work_dirs/reproduce/pretrain/mask0.75_seed0/iter_600.pth'),
)
train_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAERandomResizedCrop', size=img_size, scale=(0.2, 1.0), interpolation='bicubic'),
    dict(type='MAEPackInputs'),
]
test_pipeline = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=img_size * 8 // 7, interpolation='bicubic'),  # 256 : 224
    dict(type='MAECenterCrop', size=img_size),
    dict(type='MAEPackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

lr = 1e-3
max_iters = 100
warmup_iters = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min_ratio=1e-6 / lr,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters,
    ),
]
# top-1 on the held-out digits once, at the end of the schedule (no choice of the best step)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None),
)
