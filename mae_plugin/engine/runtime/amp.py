"""Mixed precision on any device, under the plugin's non-finite rule.

MMEngine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device, runs fp16 (which MAE runs are known
to diverge in) and skips non-finite steps through its loss scaler uncounted, forever.
``MAEAmpOptimWrapper`` autocasts on the model's device in the dtype ``--amp`` picks
(``mae_plugin/training/precision.py``: bf16 where the device has it, fp16 with a GradScaler
elsewhere), and counts and stops as every other path does
(:class:`~mae_plugin.engine.nonfinite.FiniteStepMixin`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from mmengine.logging import MessageHub
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from ...training.nonfinite import apply_skip
from ..nonfinite import FiniteStepMixin
from ..registry import OPTIM_WRAPPERS


def _to_float32(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_float32(v) for k, v in value.items()}
    return value


@contextmanager
def _autocast_regions(
    model: nn.Module, names: Sequence[str], dtype: torch.dtype, device_type: str = 'cpu'
) -> Iterator[None]:
    """Run the forward of each named submodule under autocast, its outputs handed on in fp32.

    For as long as the context is open; ``get_submodule``'s AttributeError names a submodule
    the model lacks.
    """
    module = model.module if is_model_wrapper(model) else model
    casts: dict[nn.Module, torch.autocast] = {}

    def enter(sub: nn.Module, args: Any) -> None:
        casts[sub] = torch.autocast(device_type, dtype=dtype)
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


def _device_type(model: nn.Module) -> str:
    module = model.module if is_model_wrapper(model) else model
    first = next(module.parameters(), None)
    return 'cpu' if first is None else first.device.type


@OPTIM_WRAPPERS.register_module()
class MAEAmpOptimWrapper(FiniteStepMixin, OptimWrapper):
    """``OptimWrapper`` whose forward runs under autocast on the model's device.

    bf16 has fp32's exponent range, so it needs no loss scaling; fp16 goes through a GradScaler
    (``loss_scale``), whose skipped steps are counted like any other. Parameters, gradients and
    the optimizer state stay fp32.

    Args:
        dtype: autocast dtype, 'bfloat16' or 'float16'.
        loss_scale: fp16 only: 'dynamic', an initial scale (float) or GradScaler's arguments.
        autocast_modules: names of submodules (e.g. ``['backbone', 'neck']``) that alone run
            under autocast, their outputs handed on in fp32; None autocasts the whole forward.
            Detectors need it on the CPU: mmcv's CPU kernels (NMS, RoIAlign) take fp32 only.
        max_consecutive_skips: as :class:`~mae_plugin.engine.nonfinite.FiniteStepMixin`.
        check_interval: as :class:`~mae_plugin.engine.nonfinite.FiniteStepMixin`.
    """

    def __init__(
        self,
        *args: Any,
        dtype: str = 'bfloat16',
        loss_scale: str | float | dict = 'dynamic',
        autocast_modules: Sequence[str] | None = None,
        max_consecutive_skips: int = 5,
        check_interval: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive_skips, check_interval)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"optim_wrapper.dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        self.cast_dtype = getattr(torch, dtype)
        self.autocast_modules = list(autocast_modules) if autocast_modules else None
        if isinstance(loss_scale, str) and loss_scale != 'dynamic':
            raise ValueError(
                f"optim_wrapper.loss_scale: 'dynamic', a float or a dict, not {loss_scale!r}"
            )
        self._loss_scale = loss_scale
        self._scale_update = loss_scale if isinstance(loss_scale, float) else None
        self.loss_scaler: torch.amp.GradScaler | None = None  # fp16: built on the first backward
        self._scaler_state: dict | None = None

    def _scaler(self, device_type: str) -> torch.amp.GradScaler:
        if self.loss_scaler is None:
            scale = self._loss_scale
            kw = scale if isinstance(scale, dict) else {}
            if isinstance(scale, float):
                kw = dict(init_scale=scale)
            self.loss_scaler = torch.amp.GradScaler(device_type, **kw)
            if self._scaler_state is not None:
                self.loss_scaler.load_state_dict(self._scaler_state)
        return self.loss_scaler

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The guard's context with autocast on the model's device, whole or per submodule."""
        device_type = _device_type(model)
        with super().optim_context(model):
            if self.autocast_modules is None:
                with torch.autocast(device_type, dtype=self.cast_dtype):
                    yield
            else:
                with _autocast_regions(model, self.autocast_modules, self.cast_dtype, device_type):
                    yield

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Backward of ``loss``, scaled by the GradScaler under fp16, the loss recorded first."""
        if self.cast_dtype is not torch.float16:
            super().backward(loss, **kwargs)
            return
        self.guard.observe_loss(loss)
        self._scaler(loss.device.type).scale(loss).backward(**kwargs)
        self._inner_count += 1

    def _scaled_step(self, **kwargs: Any) -> None:
        scaler = self.loss_scaler
        if self.clip_grad_kwargs:
            scaler.unscale_(self.optimizer)
            self._clip_grad()
        scaler.step(self.optimizer, **kwargs)
        scaler.update(self._scale_update)

    @torch.compiler.disable
    def step(self, **kwargs: Any) -> None:
        """The guarded step; under fp16 through the scaler (unscale, clip, step, update)."""
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        params = [p for g in self.optimizer.param_groups for p in g['params']]
        it = MessageHub.get_current_instance().get_info('iter', None)
        skip = self.guard.record(self.guard.flag(params), None if it is None else it + 1)
        apply_skip(self.optimizer, skip, lambda: self._scaled_step(**kwargs), self.loss_scaler)
        if self.guard.due:
            self.check_skips()

    def state_dict(self) -> dict:
        """The stock state, plus ``loss_scaler`` under fp16."""
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the stock state; a ``loss_scaler`` state waits for the scaler if none is built."""
        if 'loss_scaler' in state_dict:
            self._scaler_state = state_dict.pop('loss_scaler')
            if self.loss_scaler is not None:
                self.loss_scaler.load_state_dict(self._scaler_state)
        super().load_state_dict(state_dict)


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(MAEAmpOptimWrapper):
    """:class:`MAEAmpOptimWrapper` in bf16, under the name ``tools/train.py --amp`` gave it on CPU.

    Kept for configs and logs that name it.
    """

    def __init__(self, *args: Any, dtype: str = 'bfloat16', **kwargs: Any) -> None:
        super().__init__(*args, dtype=dtype, **kwargs)
