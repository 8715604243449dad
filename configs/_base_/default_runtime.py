default_scope = 'mae_plugin'
custom_imports = dict(imports=['mae_plugin'], allow_failed_imports=False)
# lr = base x batch x processes x accumulation / 256; strict, code-free loading (engine/runtime/runner.py)
runner_type = 'mae_plugin.MAERunner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes; old checkpoints deleted only after the new one is complete
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # the plugin's hooks, keyed so that a config or --cfg-options changes one by name
    finite_weights=dict(type='FiniteWeightsHook'),
    corrupt_images=dict(type='CorruptImageCounterHook'),
    weights_only_resume=dict(type='WeightsOnlyResumeHook'),
    resume_schedule_guard=dict(type='ResumeScheduleGuardHook'),
)
log_processor = dict(
    window_size=10,
    custom_cfg=[dict(data_src='corrupt_images', method_name='max', window_size='global')])

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
randomness = dict(seed=0, diff_rank_seed=True)
# CPU only: treat denormal floats as zero (torch.set_flush_denormal). Tiny softmax/GELU tails
# otherwise slow CPU kernels down ~6% in MAE training (docs/benchmarks.md); no effect on GPUs.
flush_denormal = True

log_level = 'INFO'
load_from = None
resume = False
