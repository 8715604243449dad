"""Mixed precision on the CPU: MMEngine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under CPU autocast (bf16 by default).

    bf16 has fp32's exponent range, so no loss scaling is needed; parameters, gradients and the
    optimizer state stay fp32. On GPUs use MMEngine's own ``AmpOptimWrapper`` (``tools/train.py
    --amp`` picks the right one).
    """

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
