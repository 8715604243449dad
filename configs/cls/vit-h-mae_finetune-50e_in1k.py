# MAE ViT-H end-to-end fine-tuning on ImageNet-1K (official recipe; paper: 86.9 top-1).
_base_ = [
    '../_base_/models/mae_finetune.py',
    '../_base_/datasets/imagenet_finetune.py',
    '../_base_/schedules/finetune_adamw.py',
    '../_base_/cls_runtime.py',
]
lr = 1e-3 * 1024 / 256  # base lr x batch / 256 at the recipe's batch of 1024
epochs = 50
model = dict(arch='huge', drop_path_rate=0.3,
             init_cfg=dict(checkpoint='checkpoints/mae_pretrain_vit_huge.pth'))
optim_wrapper = dict(optimizer=dict(lr=lr), paramwise_cfg=dict(layer_decay_rate=0.75))
# 5 warm-up epochs (linear from ~0), then half-cycle cosine to 1e-6 (x each group's layer scale,
# as the official schedule); both stepped every iteration.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=epochs - 5, eta_min_ratio=1e-6 / lr, by_epoch=True,
         begin=5, end=epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=1)
