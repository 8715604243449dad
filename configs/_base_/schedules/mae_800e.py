_base_ = 'mae_adamw.py'
# 40 warm-up epochs (linear from ~0), then half-cycle cosine to 0; both stepped every iteration.
epochs = 800
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=40,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        T_max=epochs - 40,
        eta_min=0.0,
        by_epoch=True,
        begin=40,
        end=epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
