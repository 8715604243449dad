_base_ = 'finetune_adamw.py'
# Official fine-tuning schedule of ViT-B: 100 epochs, 5 of them warm-up (linear from ~0), then
# half-cycle cosine to 1e-6 (x each group's layer scale, as the official schedule); both stepped
# every iteration.
lr = _base_.optim_wrapper.optimizer.lr
epochs = 100
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        T_max=epochs - 5,
        eta_min_ratio=1e-6 / lr,
        by_epoch=True,
        begin=5,
        end=epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=1)
