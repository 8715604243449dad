"""Optimizers of the evaluation recipes: the layer-decay constructor (fine-tuning, detection,
segmentation) and LARS (linear probing)."""
from __future__ import annotations

from typing import Any, Iterable

from mmengine.optim import DefaultOptimWrapperConstructor
from timm.optim import Lars
from torch import nn

from ..models.layer_decay import layer_decay_param_groups
from .registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MAELayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay over the one ViT in the model (``models.layer_decay``).

    ``paramwise_cfg=dict(layer_decay_rate=0.65)``: block ``i`` of a depth-``d`` ViT trains at
    ``lr x rate ** (d - i)``, the embeddings at ``lr x rate ** (d + 1)``, everything after the
    blocks (norms, heads, necks) at ``lr``. No weight decay on norms, biases, position tables and
    tokens; frozen parameters are left out of the optimizer.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError('MAELayerDecayOptimWrapperConstructor takes paramwise_cfg='
                             f'dict(layer_decay_rate=...) only, got {paramwise_cfg!r}')
        rate = paramwise_cfg['layer_decay_rate']
        if not 0 < rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params: list[dict], module: nn.Module, **kwargs: Any) -> None:
        params.extend(layer_decay_param_groups(
            module, lr=self.base_lr, weight_decay=self.base_wd or 0.0,
            decay_rate=self.paramwise_cfg['layer_decay_rate']))


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
