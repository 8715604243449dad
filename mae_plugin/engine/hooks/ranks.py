"""Which ranks a monitoring hook (kNN, pictures) computes on: rank 0 alone, or every rank when
the model is sharded by FSDP2, which gathers a unit's weights only in a forward every rank runs.
Only rank 0 logs or writes."""

from __future__ import annotations

from mmengine.model import is_model_wrapper
from torch import nn
from torch.distributed.fsdp import FSDPModule


def bare_model(runner) -> nn.Module:
    """``runner.model`` without a DDP wrapper (an FSDP2 model is its own root module)."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def is_sharded(runner) -> bool:
    return isinstance(runner.model, FSDPModule)


def computes_here(runner) -> bool:
    return runner.rank == 0 or is_sharded(runner)
