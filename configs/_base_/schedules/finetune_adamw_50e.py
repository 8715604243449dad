_base_ = 'finetune_adamw_100e.py'
# Official fine-tuning of ViT-L and ViT-H: lr 1e-3 x batch / 256 (at the recipe's batch of 1024)
# and layer decay 0.75, for 50 epochs: the same warm-up, the cosine ending at 50.
lr = 1e-3 * 1024 / 256
epochs = 50
optim_wrapper = dict(optimizer=dict(lr=lr), paramwise_cfg=dict(layer_decay_rate=0.75))
warmup, cosine = _base_.param_scheduler
param_scheduler = [
    warmup,
    dict(cosine, T_max=epochs - warmup.end, eta_min_ratio=1e-6 / lr, end=epochs),
]
train_cfg = dict(max_epochs=epochs)
del warmup, cosine
