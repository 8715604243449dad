"""Which dtype mixed precision (``--amp``, Lightning's precision) runs on a device."""

from __future__ import annotations

import torch


def amp_dtype(device_type: str, bf16_supported: bool) -> torch.dtype:
    """The mixed-precision dtype of a device: bf16 where it has it, else fp16.

    fp16 MAE runs are known to go NaN, and bf16 (fp32's exponent range) needs no loss scaling;
    fp16, with its loss scaler, is left for a GPU without bf16.

    Args:
        device_type: 'cpu', 'cuda', ... (``torch.device.type``).
        bf16_supported: whether the device computes bf16 (e.g. ``torch.cuda.is_bf16_supported()``;
            always True on the CPU).

    Returns:
        ``torch.bfloat16`` or ``torch.float16``.
    """
    if device_type == 'cpu' or bf16_supported:
        return torch.bfloat16
    return torch.float16


def device_amp_dtype(device: torch.device | str) -> torch.dtype:
    """:func:`amp_dtype` of ``device`` as torch reports it."""
    device = torch.device(device)
    if device.type == 'cuda':
        return amp_dtype('cuda', torch.cuda.is_bf16_supported(including_emulation=False))
    return amp_dtype(device.type, True)
