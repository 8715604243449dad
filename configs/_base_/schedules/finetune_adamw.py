# Official fine-tuning optimizer: AdamW betas (0.9, 0.999), weight decay 0.05 (none on norms,
# biases, position table and cls token), layer-wise lr decay. lr = base lr x batch / 256, written
# at the recipe's batch of 1024 and rescaled by auto_scale_lr to the batch actually run. The
# schedules finetune_adamw_100e.py (ViT-B) and finetune_adamw_50e.py (ViT-L, ViT-H) build on it.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4 * 1024 / 256, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='MAELayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65),
)
auto_scale_lr = dict(base_batch_size=1024, enable=True)
