"""The last guard of a run whose optimizer wrapper does not follow the plugin's non-finite rule:
training stops on a non-finite loss, on every rank, before the optimizer step.

``tools/train.py`` gives every config a guarding wrapper (``runtime/finite_step.py``,
``runtime/amp.py``: skip on the device, count, stop after ``max_consecutive_skips`` in a row);
this check is for a runner built around MMEngine's own wrappers by other means."""

from __future__ import annotations

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

# set on the model by a guarding optimizer wrapper (runtime/finite_step.py): it checks instead
GUARDED = '_loss_guarded_by_optim_wrapper'


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
    """MMEngine's ``BaseModel`` that raises on a non-finite loss (:func:`check_finite`).

    ``parse_losses`` is the one place both ``BaseModel.train_step`` and MMEngine's DDP wrapper
    pass through before backward, so the check lives there. A guarding optimizer wrapper
    (``FiniteOptimWrapper``, ``CPUAmpOptimWrapper``) marks the model in its ``optim_context``
    and takes the check over, without the host sync.
    """

    def parse_losses(self, losses: dict) -> tuple[torch.Tensor, dict]:
        loss, log_vars = super().parse_losses(losses)
        if not getattr(self, GUARDED, False):
            check_finite(loss)
        return loss, log_vars
