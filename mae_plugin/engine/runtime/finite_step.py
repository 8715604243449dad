"""Non-finite steps skipped on the device, as AMP's GradScaler does: no host sync before backward.

The loss's finiteness is recorded on the device at ``backward``; at ``step`` the gradients join
the flag (after DDP's all-reduce every rank holds another rank's NaN; the flag is all-reduced
too, so every rank decides alike) and the optimizer skips the update on the device: a fused
optimizer (``AdamW(fused=True)``) takes the flag as its ``found_inf``, as it does from
GradScaler, and leaves weights, moments and step count untouched. Any other optimizer cannot
skip on the device; there the flag is read on the host after backward (GradScaler's own
fallback). Skips are counted on the device and read every ``check_interval`` steps (and before
a checkpoint is written): ``max_consecutive_skips`` in a row stop training, naming the
iteration. No NaN weight is ever written: a skipped step changes nothing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn
from torch.distributed.tensor import DTensor

from ..finite_loss import GUARDED
from ..registry import OPTIM_WRAPPERS


class FiniteStepMixin:
    """Skip-and-count guard for an MMEngine ``OptimWrapper`` (see the module docstring).

    Args:
        max_consecutive_skips: stop after this many skipped steps in a row. 5 by default: a
            lone bad batch (a loss spike) is skipped as AMP skips it, while a run whose every
            step is non-finite (diverged weights or optimizer state cannot heal without an
            update) stops within one logging interval instead of burning compute.
        check_interval: read the device counters every this many optimizer steps (one host
            sync each time; 10 = MMEngine's default logging interval).
    """

    def _init_guard(self, max_consecutive_skips: int, check_interval: int) -> None:
        for name, value in (
            ('max_consecutive_skips', max_consecutive_skips),
            ('check_interval', check_interval),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'optim_wrapper.{name} must be an int >= 1, got {value!r}')
        self.max_consecutive_skips = max_consecutive_skips
        self.check_interval = check_interval
        self._found_inf: torch.Tensor | None = None  # () float, 1 = skip the coming step
        self._counters: torch.Tensor | None = None  # (2,) float: total skipped, in a row
        self._unchecked_steps = 0
        # iteration of each recent step: a run of skips is named by its iterations
        self._step_iters: deque = deque(maxlen=max_consecutive_skips + check_interval)
        self.skipped_steps = 0  # the total as last read on the host

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        module = model.module if is_model_wrapper(model) else model
        setattr(module, GUARDED, True)
        with super().optim_context(model):
            yield

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        bad = (~torch.isfinite(loss.detach())).float()
        self._found_inf = bad if self._found_inf is None else torch.maximum(self._found_inf, bad)
        super().backward(loss, **kwargs)

    def _flag(self) -> torch.Tensor:
        """() float on the parameters' device: 1 when the loss or any gradient is non-finite."""
        # a sharded (FSDP2) gradient is checked on this rank's shard: the all-reduce below
        # joins the ranks' verdicts
        grads = [
            p.grad.to_local() if isinstance(p.grad, DTensor) else p.grad
            for g in self.optimizer.param_groups
            for p in g['params']
            if p.grad is not None
        ]
        found = self._found_inf
        if grads:
            norms = torch.stack([n.float() for n in torch._foreach_norm(grads)])
            bad = (~torch.isfinite(norms.sum())).float()
            found = bad if found is None else torch.maximum(found.to(bad.device), bad)
        if found is None:
            found = torch.zeros(())
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(found, op=dist.ReduceOp.MAX)  # queued, not waited for
        return found

    # runs eagerly under MMEngine's compile=True (which compiles the whole train_step): the
    # update is one fused kernel already, and dynamo cannot trace the wrapper's param groups
    @torch.compiler.disable
    def step(self, **kwargs: Any) -> None:
        found = self._flag()
        self._found_inf = None
        if getattr(self.optimizer, '_step_supports_amp_scaling', False):
            self.optimizer.found_inf = found
            try:
                super().step(**kwargs)
            finally:
                del self.optimizer.found_inf
        elif not found.item():  # no on-device skip in this optimizer: GradScaler's fallback
            super().step(**kwargs)
        if self._counters is None:
            self._counters = torch.zeros(2, device=found.device)
        # counters = (total + f, (in_a_row + f) * f): a finite step resets the run of skips
        self._counters = torch.stack(
            [self._counters[0] + found, (self._counters[1] + found) * found]
        )
        it = MessageHub.get_current_instance().get_info('iter', None)
        self._step_iters.append(None if it is None else it + 1)  # 1-based, as the log
        self._unchecked_steps += 1
        if self._unchecked_steps >= self.check_interval:
            self.check_skips()

    def check_skips(self) -> None:
        """Read the counters (one host sync): log new skips, stop after too many in a row."""
        self._unchecked_steps = 0
        if self._counters is None:
            return
        total, in_a_row = (int(v) for v in self._counters.tolist())
        hub = MessageHub.get_current_instance()
        if total > self.skipped_steps:
            print_log(
                f'{total - self.skipped_steps} optimizer step(s) skipped (non-finite loss or '
                f'gradients) up to iteration {self._step_iters[-1]}; {total} in all',
                logger='current',
                level=logging.WARNING,
            )
        self.skipped_steps = total
        hub.update_info('skipped_steps', total)
        if in_a_row >= self.max_consecutive_skips:
            steps = list(self._step_iters)[-in_a_row:]
            reached = steps[self.max_consecutive_skips - 1]
            raise FloatingPointError(
                f'non-finite loss or gradients at {in_a_row} optimizer steps in a row '
                f'(iterations {steps[0]} to {steps[-1]}); max_consecutive_skips='
                f'{self.max_consecutive_skips} was reached at iteration {reached}: training '
                'stopped, the skipped steps changed no weights'
            )

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
