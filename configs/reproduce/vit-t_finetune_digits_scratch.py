# The paper's scratch baseline (section 4) at the digits' size: the fine-tuning of
# vit-t-mae_finetune_digits.py, the same schedule, from a randomly initialised encoder.
_base_ = ['vit-t-mae_finetune_digits.py']
model = dict(init_cfg=None)
