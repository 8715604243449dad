"""The plugin's non-finite rule (``mae_plugin/training/nonfinite.py``) on MMEngine, in one place.

Two guards, and which one checks a step:

- :class:`FiniteStepMixin` in the optimizer wrapper (``FiniteOptimWrapper`` here,
  ``CPUAmpOptimWrapper`` / ``MAEAmpOptimWrapper`` in ``runtime/amp.py``; ``tools/train.py`` gives
  every config one): a step with a non-finite loss or gradient on any rank is skipped on the
  device (no host sync before backward; weights, moments and step count untouched), counted, and
  ``max_consecutive_skips`` in a row (counted exactly on the device, wherever the checks fall)
  stop every rank, naming the iterations. The counters are read every ``check_interval`` steps and
  before a checkpoint is written; no NaN weight is ever written: a skipped step changes nothing.
- :class:`FiniteLossModel`, the base of the plugin's models: the last guard of a run whose
  optimizer wrapper is one of MMEngine's own (a runner built by other means). It stops training
  on a non-finite loss, on every rank, before the optimizer step.

The wiring: a guarding wrapper's ``optim_context`` turns the model's
:attr:`FiniteLossModel.host_loss_check` off, so that the model leaves the step to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from ..training.nonfinite import SkipCounter, apply_skip
from .registry import OPTIM_WRAPPERS


def check_finite(loss: torch.Tensor) -> None:
    """Raise on a non-finite loss on any rank (all ranks raise together: no DDP hang).

    Costs one host-device synchronisation per step, before backward; MMEngine's logging reads
    the loss with ``.item()`` every step anyway.
    """
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(bad)
    if bad.item() > 0:
        it = MessageHub.get_current_instance().get_info('iter', None)
        where = f' at iteration {it + 1}' if it is not None else ''
        raise FloatingPointError(
            f'non-finite loss ({loss.item()}){where}: training stopped '
            'before the optimizer step, no weights were changed or saved'
        )


class FiniteLossModel(BaseModel):
    """MMEngine's ``BaseModel`` that stops on a non-finite loss unless a guarding wrapper trains it.

    The check (:func:`check_finite`) lives in ``parse_losses``, the one place both
    ``BaseModel.train_step`` and MMEngine's DDP wrapper pass through before backward. That runs
    after ``optim_context`` has closed and is never given the optimizer wrapper, hence the flag
    the wrapper sets.

    Attributes:
        host_loss_check: check the loss on the host in ``parse_losses``. True until a
            :class:`FiniteStepMixin` wrapper trains the model: that wrapper skips a non-finite
            step on the device instead, without the host sync.
    """

    host_loss_check: bool = True

    def parse_losses(self, losses: dict) -> tuple[torch.Tensor, dict]:
        """MMEngine's sum and log variables, the loss checked first if ``host_loss_check``.

        Raises:
            FloatingPointError: the loss is non-finite on any rank (see :func:`check_finite`).
        """
        loss, log_vars = super().parse_losses(losses)
        if self.host_loss_check:
            check_finite(loss)
        return loss, log_vars


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
        """Skipped steps in a row that stop training."""
        return self.guard.max_consecutive_skips

    @property
    def check_interval(self) -> int:
        """Optimizer steps between two reads of the device counters."""
        return self.guard.check_interval

    @property
    def skipped_steps(self) -> int:
        """The total as last read on the host."""
        return self.guard.skipped_steps

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The stock context, after turning the model's host loss check off (this guard checks)."""
        module = model.module if is_model_wrapper(model) else model
        if isinstance(module, FiniteLossModel):
            module.host_loss_check = False  # this wrapper checks the step on the device
        with super().optim_context(model):
            yield

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Record whether ``loss`` is finite (no host sync), then the stock backward."""
        self.guard.observe_loss(loss)
        super().backward(loss, **kwargs)

    # runs eagerly under MMEngine's compile=True (which compiles the whole train_step): the
    # update is one fused kernel already, and dynamo cannot trace the wrapper's param groups
    @torch.compiler.disable
    def step(self, **kwargs: Any) -> None:
        """The stock step, skipped on the device (and counted) when not finite on any rank."""
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
        """The stock state, after a read of the counters: no checkpoint past a stop."""
        self.check_skips()  # a checkpoint is never written past a stop
        return super().state_dict()


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(FiniteStepMixin, OptimWrapper):
    """MMEngine's ``OptimWrapper`` under the non-finite rule (:class:`FiniteStepMixin`).

    Non-finite steps are skipped on the device; ``max_consecutive_skips`` in a row stop training.
    """

    def __init__(
        self, *args: Any, max_consecutive_skips: int = 5, check_interval: int = 10, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive_skips, check_interval)
