"""The non-finite policy of every runner, strategy and precision, written once.

MMEngine applies it in ``engine/nonfinite.py``, Lightning in ``lightning/nonfinite.py``.

A step whose loss or gradients hold NaN/Inf on any rank is skipped on the device, as AMP's
GradScaler skips it: no host sync before the update. The flag joins the loss (recorded before
backward), every gradient (a sharded DTensor gradient on this rank's shard) and every rank (an
all-reduce, queued, not waited for). The update then skips on the device (:func:`arm_skip`): a
fused optimizer (``AdamW(fused=True)``) takes the flag as its ``found_inf``; a GradScaler (fp16)
sees an Inf put into one gradient; any other optimizer is given no gradients after one host read
of the flag (GradScaler's own fallback), so it changes no weight, moment or step count.

:class:`SkipCounter` counts on the device, exactly: the total, the current run of skips in a row
and the step at which a run first reached ``max_consecutive_skips``, whatever the check interval.
Once reached, every later step is skipped too, so the weights stay those of the last good step
until the next check (one host read every ``check_interval`` steps) stops every rank alike (the
counters are equal on every rank), naming the steps of the run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.distributed.tensor import DTensor


def non_finite_flag(loss_flag: Tensor | None, params: Iterable[Tensor]) -> Tensor:
    """Whether this step holds a non-finite loss or gradient on any rank.

    No host sync: the all-reduce is queued on the device.

    Args:
        loss_flag: () float, 1 when an observed loss was non-finite; None when none was observed.
        params: the parameters whose gradients are checked (a DTensor gradient: this rank's shard).

    Returns:
        () float32: 1 when ``loss_flag`` is set or a gradient is non-finite on any rank, else 0.
    """
    params = list(params)
    grads = [
        p.grad.to_local() if isinstance(p.grad, DTensor) else p.grad
        for p in params
        if p.grad is not None
    ]
    grads = [g for g in grads if g.numel()]  # a rank's shard of a small tensor may be empty
    found = loss_flag
    if grads:
        # the max-norm: NaN or Inf where any element is, and no overflow of finite values
        # (an L2 norm or a sum of norms overflows fp32 for large, finite gradients)
        largest = torch.stack([n.float() for n in torch._foreach_norm(grads, float('inf'))])
        bad = (~torch.isfinite(largest)).any().float()
        found = bad if found is None else torch.maximum(found.to(bad.device).float(), bad)
    if found is None:
        found = torch.zeros((), device=params[0].device if params else 'cpu')
    found = found.float().clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(found, op=dist.ReduceOp.MAX)
    return found


def arm_skip(optimizer: torch.optim.Optimizer, skip: Tensor, scaler: Any = None) -> None:
    """Make the coming update of ``optimizer`` change nothing where ``skip`` is 1.

    Call :func:`disarm` after the update.

    Args:
        optimizer: the optimizer about to step.
        skip: () float on the gradients' device, 1 = skip.
        scaler: the GradScaler the update goes through (fp16), or None.
    """
    if scaler is not None and scaler.is_enabled():
        # the scaler skips a step whose gradients hold an Inf (and lowers its scale)
        grad = next(
            (p.grad for g in optimizer.param_groups for p in g['params'] if p.grad is not None),
            None,
        )
        if grad is not None:
            local = grad.to_local() if isinstance(grad, DTensor) else grad
            local.view(-1)[:1].add_(torch.where(skip > 0, float('inf'), 0.0).to(local.dtype))
    elif getattr(optimizer, '_step_supports_amp_scaling', False):
        optimizer.found_inf = skip  # read by a fused optimizer's kernel, as from GradScaler
    elif skip.item():  # no on-device skip in this optimizer: GradScaler's fallback
        optimizer.zero_grad(set_to_none=True)  # a parameter without gradient is not stepped


def disarm(optimizer: torch.optim.Optimizer) -> None:
    """Undo :func:`arm_skip` after the update."""
    if hasattr(optimizer, 'found_inf'):
        del optimizer.found_inf


def apply_skip(
    optimizer: torch.optim.Optimizer, skip: Tensor, step: Callable[[], Any], scaler: Any = None
) -> None:
    """Run ``step`` so that it changes nothing where ``skip`` is 1 (:func:`arm_skip`).

    Args:
        optimizer: the optimizer ``step`` updates.
        skip: () float on the gradients' device, 1 = skip.
        step: the update, called once.
        scaler: the GradScaler the update goes through (fp16), or None.
    """
    arm_skip(optimizer, skip, scaler)
    try:
        step()
    finally:
        disarm(optimizer)


class SkipCounter:
    """Skips counted on the device; a run of ``max_consecutive_skips`` stops training.

    Args:
        max_consecutive_skips: stop after this many skipped steps in a row. 5 by default: a lone
            bad batch (a loss spike) is skipped as AMP skips it, while a run whose every step is
            non-finite (diverged weights or optimizer state cannot heal without an update)
            stops within one check interval instead of burning compute.
        check_interval: read the counters every this many steps (one host sync each time).
        unit: what a step's label counts in messages ('iteration', 'optimizer step').
        warn: called with a message when new skips are read.
    """

    def __init__(
        self,
        max_consecutive_skips: int = 5,
        check_interval: int = 10,
        unit: str = 'iteration',
        warn: Callable[[str], None] | None = None,
    ) -> None:
        for name, value in (
            ('max_consecutive_skips', max_consecutive_skips),
            ('check_interval', check_interval),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'{name} must be an int >= 1, got {value!r}')
        self.max_consecutive_skips = max_consecutive_skips
        self.check_interval = check_interval
        self.unit = unit
        self.warn = warn
        self.loss_flag: Tensor | None = None  # () float, set by observe_loss until the step
        # (4,) int64: total skipped, current run, steps recorded, step that reached the limit
        self.counters: Tensor | None = None
        self._labels: deque = deque(maxlen=max_consecutive_skips + check_interval + 1)
        self._steps = 0  # steps recorded, as counted on the host
        self._unchecked = 0
        self.skipped_steps = 0  # the total as last read

    def observe_loss(self, loss: Tensor) -> None:
        """Record a loss (one per micro-batch) for the coming step: no host sync."""
        bad = (~torch.isfinite(loss.detach())).float().amax()
        self.loss_flag = bad if self.loss_flag is None else torch.maximum(self.loss_flag, bad)

    def flag(self, params: Iterable[Tensor]) -> Tensor:
        """:func:`non_finite_flag` of the observed losses and ``params``'s gradients."""
        found = non_finite_flag(self.loss_flag, params)
        self.loss_flag = None
        return found

    def record(self, bad: Tensor, label: int | None) -> Tensor:
        """Count one step.

        Args:
            bad: () 0/1, the step's :meth:`flag`, alike on all ranks.
            label: the step's number in messages (iteration or optimizer step), or None.

        Returns:
            The () float skip flag to apply: ``bad``, or 1 for every step after a run reached
            the limit.
        """
        bad = bad.detach().reshape(()).to(torch.int64)
        if self.counters is None:
            self.counters = torch.tensor([0, 0, 0, -1], dtype=torch.int64, device=bad.device)
        total, run, steps, reached = self.counters.unbind()
        run = (run + bad) * bad  # a finite step resets the run
        steps = steps + 1
        reached_now = torch.where(
            (reached < 0) & (run >= self.max_consecutive_skips), steps, reached
        )
        self.counters = torch.stack([total + bad, run, steps, reached_now])
        self._steps += 1
        self._labels.append((self._steps, label))
        self._unchecked += 1
        return torch.maximum(bad, (reached >= 0).to(torch.int64)).float()

    @property
    def due(self) -> bool:
        """Whether ``check_interval`` steps were recorded since the last :meth:`check`."""
        return self._unchecked >= self.check_interval

    @property
    def total(self) -> Tensor:
        """() int64 on the device: steps skipped so far (no host sync)."""
        return self.counters[0] if self.counters is not None else torch.zeros((), dtype=torch.int64)

    def check(self) -> int:
        """Read the counters (one host sync) and warn of new skips.

        Returns:
            The total skipped.

        Raises:
            FloatingPointError: naming the steps, once a run reached ``max_consecutive_skips``.
        """
        self._unchecked = 0
        if self.counters is None:
            return self.skipped_steps
        total, run, _, reached = (int(v) for v in self.counters.tolist())
        last = self._labels[-1][1] if self._labels else None
        if total > self.skipped_steps and self.warn is not None:
            self.warn(
                f'{total - self.skipped_steps} optimizer step(s) skipped (non-finite loss or '
                f'gradients) up to {self.unit} {last}; {total} in all'
            )
        self.skipped_steps = total
        if reached >= 0:
            labels = dict(self._labels)
            n = self.max_consecutive_skips
            first, at = labels.get(reached - n + 1), labels.get(reached)
            raise FloatingPointError(
                f'non-finite loss or gradients at {n} optimizer steps in a row '
                f'({self.unit}s {first} to {at}); max_consecutive_skips={n} was reached at '
                f'{self.unit} {at} ({total} skipped in all): training stopped, the skipped '
                'steps changed no weights'
            )
        return total
