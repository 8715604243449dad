# mmseg's runtime plus the plugin's safety hooks: checkpoints that load with weights_only=True
# (tools/test.py, resume) and no checkpoint written with NaN/Inf weights.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_hooks = [
    dict(type='mae_plugin.WeightsOnlyResumeHook'),
    dict(type='mae_plugin.FiniteWeightsHook'),
]
