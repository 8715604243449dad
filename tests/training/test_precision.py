"""The precision rule: ``--amp`` prefers bf16 and keeps fp16 only where the device lacks it."""

import torch


def test_amp_prefers_bf16_and_keeps_fp16_only_where_the_device_lacks_it():
    from mae_plugin.training.precision import amp_dtype

    assert amp_dtype('cpu', False) is torch.bfloat16
    assert amp_dtype('cuda', True) is torch.bfloat16
    assert amp_dtype('cuda', False) is torch.float16
