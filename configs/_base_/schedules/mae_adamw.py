# Official recipe: AdamW, betas (0.9, 0.95), weight decay 0.05 but 0 on norms, biases, position
# embeddings, cls and mask tokens; lr = 1.5e-4 x total_batch / 256, written here at the recipe's
# total batch of 4096 and rescaled by MMEngine's auto_scale_lr to the batch actually run.
# FiniteOptimWrapper skips a non-finite step on the device (no host sync) and stops after
# max_consecutive_skips in a row, naming the iteration.
optim_wrapper = dict(
    type='FiniteOptimWrapper',
    max_consecutive_skips=5,
    # fused: one kernel for the whole update, 5.9x faster than foreach on the CPU
    # (docs/benchmarks.md), and it skips a non-finite step on the device (found_inf)
    optimizer=dict(
        type='AdamW', lr=1.5e-4 * 4096 / 256, betas=(0.9, 0.95), weight_decay=0.05, fused=True
    ),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
        },
    ),
)
auto_scale_lr = dict(base_batch_size=4096, enable=True)
