# A linear probe of a random encoder: vit-t-mae_linprobe_digits.py from a randomly initialised,
# frozen encoder (the floor the MAE rows are read against).
_base_ = ['vit-t-mae_linprobe_digits.py']
model = dict(init_cfg=None)
