_base_ = 'mae_800e.py'
# The 800-epoch schedule's 40 warm-up epochs, then its half-cycle cosine to 0 ending at 400.
epochs = 400
warmup, cosine = _base_.param_scheduler
param_scheduler = [warmup, dict(cosine, T_max=epochs - warmup.end, end=epochs)]
train_cfg = dict(max_epochs=epochs)
del warmup, cosine
