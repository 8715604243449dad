"""Mixed precision on the CPU: MMEngine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from ..registry import OPTIM_WRAPPERS
from .finite_step import FiniteStepMixin


def _to_float32(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_float32(v) for k, v in value.items()}
    return value


@contextmanager
def _autocast_regions(model: nn.Module, names: Sequence[str], dtype: torch.dtype) -> Iterator[None]:
    """Run the forward of each named submodule under CPU autocast and hand its outputs on in
    fp32, for as long as the context is open."""
    module = model.module if is_model_wrapper(model) else model
    casts: dict[nn.Module, torch.autocast] = {}

    def enter(sub: nn.Module, args: Any) -> None:
        casts[sub] = torch.autocast('cpu', dtype=dtype)
        casts[sub].__enter__()

    def leave(sub: nn.Module, args: Any, output: Any) -> Any:
        casts.pop(sub).__exit__(None, None, None)
        return _to_float32(output)

    with ExitStack() as stack:
        for name in names:
            sub = module.get_submodule(name)  # AttributeError names a module the model lacks
            stack.callback(sub.register_forward_pre_hook(enter).remove)
            stack.callback(sub.register_forward_hook(leave).remove)
        yield


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(FiniteStepMixin, OptimWrapper):
    """``OptimWrapper`` whose forward runs under CPU autocast (bf16 by default).

    bf16 has fp32's exponent range, so no loss scaling is needed; parameters, gradients and the
    optimizer state stay fp32. Non-finite steps are skipped on the device and counted
    (:class:`~.finite_step.FiniteStepMixin`). On GPUs use MMEngine's own ``AmpOptimWrapper``
    (``tools/train.py --amp`` picks the right one).

    Args:
        dtype: autocast dtype, 'bfloat16'.
        autocast_modules: names of submodules (e.g. ``['backbone', 'neck']``) that alone run
            under autocast, their outputs handed on in fp32; None autocasts the whole forward.
            Detectors need it: mmcv's CPU kernels (NMS, RoIAlign) take fp32 only.
        max_consecutive_skips, check_interval: as :class:`~.finite_step.FiniteStepMixin`.
    """

    def __init__(
        self,
        *args: Any,
        dtype: str = 'bfloat16',
        autocast_modules: Sequence[str] | None = None,
        max_consecutive_skips: int = 5,
        check_interval: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive_skips, check_interval)
        self.cast_dtype = getattr(torch, dtype)
        self.autocast_modules = list(autocast_modules) if autocast_modules else None

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model):
            if self.autocast_modules is None:
                with torch.autocast('cpu', dtype=self.cast_dtype):
                    yield
            else:
                with _autocast_regions(model, self.autocast_modules, self.cast_dtype):
                    yield
