_base_ = 'mmseg::_base_/default_runtime.py'
# The plugin's runner (lr rule with accumulation; strict, code-free loading) and its checkpoint
# safety: weights_only-readable files, no NaN written, resume only of the same schedule. The
# atomic checkpoint hook is set in the schedule file, where mmseg keeps default_hooks.
runner_type = 'mae_plugin.MAERunner'
custom_hooks = [
    dict(type='mae_plugin.WeightsOnlyResumeHook'),
    dict(type='mae_plugin.FiniteWeightsHook'),
    dict(type='mae_plugin.ResumeScheduleGuardHook'),
]
