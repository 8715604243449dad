"""What the monitoring hooks (kNN, pictures) share: which ranks compute, the bare model, its input.

Rank 0 computes alone, or every rank when the model is sharded by FSDP2, which gathers a unit's
weights only in a forward every rank runs; only rank 0 logs or writes. The input is the model's
normalisation of a uint8 batch.
"""

from __future__ import annotations

from collections.abc import Callable

from mmengine.model import is_model_wrapper
from torch import Tensor, nn
from torch.distributed.fsdp import FSDPModule


def bare_model(runner) -> nn.Module:
    """``runner.model`` without a DDP wrapper (an FSDP2 model is its own root module)."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def is_sharded(runner) -> bool:
    """Whether ``runner.model`` is sharded by FSDP2."""
    return isinstance(runner.model, FSDPModule)


def computes_here(runner) -> bool:
    """Whether this rank runs the monitors' forwards."""
    return runner.rank == 0 or is_sharded(runner)


def normalizer(model: nn.Module) -> Callable[[Tensor], Tensor]:
    """A function from a uint8 batch to ``model``'s input, through its data preprocessor.

    Returns:
        uint8 (B, 3, H, W) -> float (B, 3, H, W) normalised, on the model's device (an
        ``MAEPretrainModel``'s preprocessor).
    """

    def normalize(images: Tensor) -> Tensor:
        return model.data_preprocessor(dict(inputs=images, data_samples=None), False)['inputs']

    return normalize
