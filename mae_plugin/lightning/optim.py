"""The paper's optimizer and schedule, runner-free: AdamW groups, the lr rule, warm-up + cosine.

Written against plain torch so that the Lightning module only wires them in; the numbers are the
official ``main_pretrain.py`` / ``util/lr_sched.py`` ones and those of the MMEngine configs
(``configs/_base_/schedules/mae_adamw.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..models.layer_decay import is_no_decay

# Names that wrappers insert between a module and its parameters (FSDP, activation checkpointing,
# torch.compile); stripped so a parameter keeps the name it had before wrapping.
_WRAPPER_PARTS = re.compile(
    r'(^|\.)(_fsdp_wrapped_module|_checkpoint_wrapped_module|_orig_mod)'
    r'(?=\.)'
)


def plain_name(name: str) -> str:
    """``name`` with wrapper parts (``_fsdp_wrapped_module.`` etc.) removed."""
    return _WRAPPER_PARTS.sub('', name).lstrip('.')


def no_decay_names(model: nn.Module) -> set[str]:
    """Names (wrapper parts removed) of the parameters that get no weight decay.

    Norms, biases (every 1-D parameter), position tables, cls and mask tokens. Read from the
    unwrapped model: once sharded (FSDP) a parameter's shape no longer tells what it is.
    """
    return {plain_name(n) for n, p in model.named_parameters() if is_no_decay(n, p)}


def adamw_groups(model: nn.Module, weight_decay: float, no_decay: set[str]) -> list[dict[str, Any]]:
    """Two AdamW groups of the trainable parameters: with ``weight_decay``, and without.

    The names in ``no_decay`` get weight decay 0. Frozen parameters (the sin-cos tables) are
    left out.
    """
    decay, other = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (other if plain_name(name) in no_decay else decay).append(param)
    return [
        dict(params=decay, weight_decay=weight_decay, name='decay'),
        dict(params=other, weight_decay=0.0, name='no_decay'),
    ]


@dataclass
class WarmupCosine:
    """The lr factor of an optimizer step: linear warm-up, then half-cycle cosine to 0.

    Warm-up from 0 over ``warmup_steps``, then the cosine to 0 at ``total_steps``
    (``util/lr_sched.py``, in fractional epochs = steps / steps per epoch). A plain-data
    callable: ``LambdaLR`` stores its fields in the checkpoint, so a resume can compare them.

    Raises:
        ValueError: the warm-up is not shorter than the whole schedule.
    """

    warmup_steps: float
    total_steps: float

    def __post_init__(self) -> None:
        if not 0 <= self.warmup_steps < self.total_steps:
            raise ValueError(
                f'the warm-up ({self.warmup_steps:g} optimizer steps) must be '
                f'shorter than the whole schedule ({self.total_steps:g} steps)'
            )

    def __call__(self, step: int) -> float:
        """The factor in [0, 1] at optimizer step ``step`` (1 at the end of the warm-up)."""
        if step < self.warmup_steps:
            return step / self.warmup_steps
        progress = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
