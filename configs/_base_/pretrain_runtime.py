# Pretraining adds reconstruction pictures (original | masked input | reconstruction | composite).
_base_ = 'default_runtime.py'
default_hooks = dict(visualization=dict(type='ReconstructionVisHook', interval=5000, num_images=4))
