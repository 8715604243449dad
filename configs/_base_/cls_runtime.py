# Classification (fine-tuning, linear probing): keep the checkpoint of the best top-1.
_base_ = 'default_runtime.py'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='accuracy/top1', rule='greater'),
)
