_base_ = 'mmdet::_base_/default_runtime.py'
# The plugin's runner (lr rule with accumulation; strict, code-free loading) and its checkpoint
# safety: atomic writes, weights_only-readable files, no NaN written, resume only of the same
# schedule. Checkpoints every 5,000 iterations (the two latest kept), logged by iteration, as
# ViTDet's schedule counts.
runner_type = 'mae_plugin.MAERunner'
default_hooks = dict(
    checkpoint=dict(
        type='mae_plugin.AtomicCheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=2
    )
)
log_processor = dict(by_epoch=False)
# `--amp` without a GPU: bf16 autocast of the ViT and its pyramid only, since mmcv's CPU kernels
# (NMS, RoIAlign) take fp32 only; the heads run fp32.
cpu_autocast_modules = ['backbone', 'neck']
custom_hooks = [
    dict(type='mae_plugin.WeightsOnlyResumeHook'),
    dict(type='mae_plugin.FiniteWeightsHook'),
    dict(type='mae_plugin.ResumeScheduleGuardHook'),
]
