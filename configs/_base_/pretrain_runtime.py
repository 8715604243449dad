# Pretraining adds reconstruction pictures (original | masked input | reconstruction | composite).
_base_ = 'default_runtime.py'
# Checkpoints say what the weights do not (head counts, mask ratio, norm-pix, input size).
default_hooks = dict(
    visualization=dict(type='ReconstructionVisHook', interval=5000, num_images=4),
    model_meta=dict(type='MAEModelMetaHook'),
)
