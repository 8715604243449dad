_base_ = 'mmseg::_base_/default_runtime.py'
# The plugin's runner (lr rule with accumulation; strict, code-free loading) and its
# checkpoint safety: atomic writes, weights_only-readable files, no NaN written, resume only
# of the same schedule.
runner_type = 'mae_plugin.MAERunner'
default_hooks = dict(checkpoint=dict(type='mae_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='mae_plugin.WeightsOnlyResumeHook'),
    dict(type='mae_plugin.FiniteWeightsHook'),
    dict(type='mae_plugin.ResumeScheduleGuardHook'),
]
