# The MAE/BEiT ADE20K schedule: AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.05 (none on
# norms, biases, position tables, relative position biases, layer scales), layer-wise lr decay
# through the plugin's shared constructor, AMP; 1,500 warm-up iterations, then poly (power 1)
# to 0 at 160k.
_base_ = 'mmseg::_base_/schedules/schedule_160k.py'
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mae_plugin.MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=1500, end=160000),
]
# atomic writes; old checkpoints deleted only after the new one is complete
default_hooks = dict(checkpoint=dict(type='mae_plugin.AtomicCheckpointHook'))
