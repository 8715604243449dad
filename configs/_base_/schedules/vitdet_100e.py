# ViTDet's 100-epoch schedule at batch 64: 184,375 iterations, 250-iteration linear warm-up,
# lr x 0.1 at 163,889 and 177,546; AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.1 (none on
# norms, biases, position tables, relative positions), layer-wise lr decay through the plugin's
# shared constructor (0.7 for B), AMP.
max_iters = 184375
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='mae_plugin.MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[163889, 177546],
        gamma=0.1,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=64)
