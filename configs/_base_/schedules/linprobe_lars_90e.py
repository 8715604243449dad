# Official linear probing: LARS (momentum 0.9, trust 0.001, weight decay 0) on the head,
# lr = 0.1 x batch / 256 written at the recipe's batch of 16384; 10 warm-up epochs, then
# half-cycle cosine to 0 over the remaining 80, stepped every iteration.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='MAELARS', lr=0.1 * 16384 / 256, momentum=0.9, weight_decay=0.0),
)
auto_scale_lr = dict(base_batch_size=16384, enable=True)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        T_max=90 - 10,
        eta_min=0.0,
        by_epoch=True,
        begin=10,
        end=90,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=1)
