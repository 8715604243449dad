"""The plugin's non-finite rule (``mae_plugin/training/nonfinite.py``) in MMEngine's optimizer
wrapper: a step with a non-finite loss or gradient on any rank is skipped on the device (no host
sync before backward; weights, moments and step count untouched), counted, and
``max_consecutive_skips`` in a row (counted exactly on the device, wherever the checks fall) stop
every rank, naming the iterations. The counters are read every ``check_interval`` steps and
before a checkpoint is written; no NaN weight is ever written: a skipped step changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from ...training.nonfinite import SkipCounter, apply_skip
from ..finite_loss import GUARDED
from ..registry import OPTIM_WRAPPERS


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


class FiniteStepMixin:
    """Skip-and-count guard for an MMEngine ``OptimWrapper`` (see the module docstring).

    Args:
        max_consecutive_skips: stop after this many skipped steps in a row (5 by default; see
            :class:`~mae_plugin.training.nonfinite.SkipCounter`).
        check_interval: read the device counters every this many optimizer steps (one host
            sync each time; 10 = MMEngine's default logging interval).
    """

    loss_scaler: Any = None  # a GradScaler the update goes through (fp16), or None

    def _init_guard(self, max_consecutive_skips: int, check_interval: int) -> None:
        try:
            self.guard = SkipCounter(max_consecutive_skips, check_interval, 'iteration', _warn)
        except ValueError as err:
            raise ValueError(f'optim_wrapper.{err}') from None

    @property
    def max_consecutive_skips(self) -> int:
        return self.guard.max_consecutive_skips

    @property
    def check_interval(self) -> int:
        return self.guard.check_interval

    @property
    def skipped_steps(self) -> int:
        """The total as last read on the host."""
        return self.guard.skipped_steps

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        module = model.module if is_model_wrapper(model) else model
        setattr(module, GUARDED, True)
        with super().optim_context(model):
            yield

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        self.guard.observe_loss(loss)
        super().backward(loss, **kwargs)

    # runs eagerly under MMEngine's compile=True (which compiles the whole train_step): the
    # update is one fused kernel already, and dynamo cannot trace the wrapper's param groups
    @torch.compiler.disable
    def step(self, **kwargs: Any) -> None:
        params = [p for g in self.optimizer.param_groups for p in g['params']]
        it = MessageHub.get_current_instance().get_info('iter', None)
        skip = self.guard.record(self.guard.flag(params), None if it is None else it + 1)
        apply_skip(
            self.optimizer,
            skip,
            lambda: super(FiniteStepMixin, self).step(**kwargs),
            self.loss_scaler,
        )
        if self.guard.due:
            self.check_skips()

    def check_skips(self) -> None:
        """Read the counters (one host sync): log new skips, stop after too many in a row."""
        try:
            self.guard.check()
        finally:
            MessageHub.get_current_instance().update_info('skipped_steps', self.skipped_steps)

    def state_dict(self) -> dict:
        self.check_skips()  # a checkpoint is never written past a stop
        return super().state_dict()


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(FiniteStepMixin, OptimWrapper):
    """MMEngine's ``OptimWrapper`` that skips non-finite steps on the device and stops after
    ``max_consecutive_skips`` in a row (:class:`FiniteStepMixin`)."""

    def __init__(
        self, *args: Any, max_consecutive_skips: int = 5, check_interval: int = 10, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive_skips, check_interval)
