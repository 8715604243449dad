"""The layer-decay optimizer constructor of fine-tuning, detection and segmentation."""

from __future__ import annotations

from typing import Any

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from ...models.layer_decay import layer_decay_param_groups
from ..registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MAELayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay over the one ViT in the model (``models.layer_decay``).

    ``paramwise_cfg=dict(layer_decay_rate=0.65)``: block ``i`` of a depth-``d`` ViT trains at
    ``lr x rate ** (d - i)``, the embeddings at ``lr x rate ** (d + 1)``, everything after the
    blocks (norms, heads, necks) at ``lr``. No weight decay on norms, biases, position tables and
    tokens; frozen parameters are left out of the optimizer.

    Args:
        optim_wrapper_cfg: MMEngine's ``optim_wrapper`` config.
        paramwise_cfg: ``dict(layer_decay_rate=RATE)``, RATE in (0, 1]; no other key.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError(
                'MAELayerDecayOptimWrapperConstructor takes paramwise_cfg='
                f'dict(layer_decay_rate=...) only, got {paramwise_cfg!r}'
            )
        rate = paramwise_cfg['layer_decay_rate']
        if not 0 < rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params: list[dict], module: nn.Module, **kwargs: Any) -> None:
        """Append ``module``'s parameter groups, one per (layer, decay or not)."""
        params.extend(
            layer_decay_param_groups(
                module,
                lr=self.base_lr,
                weight_decay=self.base_wd or 0.0,
                decay_rate=self.paramwise_cfg['layer_decay_rate'],
            )
        )
