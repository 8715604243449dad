"""LARS of the official linear probe, from timm's ``Lars``."""
from __future__ import annotations

from collections.abc import Iterable

from timm.optim import Lars
from torch import nn

from ..registry import OPTIMIZERS


@OPTIMIZERS.register_module(name='MAELARS')
def build_lars(params: Iterable[nn.Parameter | dict], lr: float, momentum: float = 0.9,
               weight_decay: float = 0.0, trust_coeff: float = 0.001) -> Lars:
    """LARS of the official linear probe (``util/lars.py``) from timm's ``Lars``.

    Weight matrices get the trust ratio ``trust_coeff x |w| / |g|`` even at weight decay 0
    (timm's ``always_adapt``); 1-D parameters (biases, norms) get neither decay nor adaptation.
    Frozen parameters are left out. With weight decay, timm's ratio divides by
    ``|g| + wd |w|`` where the official code divides by ``|g + wd w|``; the recipe uses wd 0.
    """
    flat: list[nn.Parameter] = []
    for item in params:
        flat += list(item['params']) if isinstance(item, dict) else [item]
    flat = [p for p in flat if p.requires_grad]
    groups = [dict(params=[p for p in flat if p.ndim > 1], weight_decay=weight_decay,
                   always_adapt=True),
              dict(params=[p for p in flat if p.ndim <= 1], weight_decay=0.0,
                   always_adapt=False)]
    return Lars([g for g in groups if g['params']], lr=lr, momentum=momentum,
                trust_coeff=trust_coeff)
