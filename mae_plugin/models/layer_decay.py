"""Layer-wise learning-rate decay for a ViT inside any model (classifier, detector, segmentor).

The official MAE fine-tuning (``util/lr_decay.py``): embeddings are layer 0, block ``i`` is layer
``i + 1``, everything else (final norm, heads, necks) is the top layer ``depth + 1``; a parameter
of layer ``l`` gets ``lr x decay ** (depth + 1 - l)``. No weight decay on 1-D parameters (norms,
biases, layer scales) and on position tables and tokens.

Written here rather than taken from ``timm.optim.param_groups_layer_decay``: timm's version needs
the ViT to be the top-level model (``group_matcher``) and hands the scale to timm's own scheduler
through an ``lr_scale`` key, while our ViTs sit inside MMEngine models (prefixes, necks, heads) and
MMEngine's schedulers scale each group's own ``lr``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from torch import nn

# Trailing names of parameters that never get weight decay, whatever their shape.
NO_DECAY_NAMES = (
    'pos_embed',
    'cls_token',
    'dist_token',
    'reg_token',
    'mask_token',
    'rel_pos_h',
    'rel_pos_w',
    'relative_position_bias_table',
)
EMBEDDING_PREFIXES = ('patch_embed', 'cls_token', 'pos_embed', 'dist_token', 'reg_token')
_BLOCK = re.compile(r'^blocks\.(\d+)\.')


def find_vit(model: nn.Module) -> tuple[str, nn.Module]:
    """The one ViT in ``model``: the module with a ``patch_embed`` and a ``blocks`` sequence.

    Returns:
        ``(prefix, module)``, the prefix ending with '.' (empty when ``model`` is the ViT).

    Raises:
        ValueError: ``model`` holds no such module or more than one, listing them.
    """
    found = [
        (name, module)
        for name, module in model.named_modules()
        if hasattr(module, 'patch_embed')
        and isinstance(getattr(module, 'blocks', None), nn.Sequential | nn.ModuleList)
    ]
    if len(found) != 1:
        names = [name or '<model>' for name, _ in found]
        raise ValueError(
            'layer-wise lr decay needs exactly one ViT (a module with patch_embed '
            f'and blocks) in the model, found {len(found)}: {names}'
        )
    name, module = found[0]
    return (name + '.' if name else ''), module


def vit_layer_id(name: str, depth: int) -> int:
    """Layer of a parameter named as in timm's ViT (names relative to the ViT).

    Returns:
        0 for the embeddings, ``i + 1`` for block ``i``, ``depth + 1`` for everything after
        the blocks.
    """
    block = _BLOCK.match(name)
    if block:
        return int(block.group(1)) + 1
    if name.split('.')[0] in EMBEDDING_PREFIXES:
        return 0
    return depth + 1


def is_no_decay(name: str, param: nn.Parameter) -> bool:
    """1-D parameters (biases, norms, layer scales) and position tables/tokens get no decay."""
    return param.ndim <= 1 or name.rsplit('.', 1)[-1] in NO_DECAY_NAMES


def _trainable(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    return ((n, p) for n, p in model.named_parameters() if p.requires_grad)


def layer_decay_param_groups(
    model: nn.Module, lr: float, weight_decay: float, decay_rate: float
) -> list[dict[str, Any]]:
    """Optimizer parameter groups of ``model`` with per-layer ``lr`` and ``weight_decay``.

    Frozen parameters are left out. One group per (layer, decay or not), the top layer first so
    that MMEngine's log (which shows the first group's lr) shows the base lr. Each group also
    carries ``layer_id``, ``lr_scale`` and a readable ``name``.
    """
    prefix, vit = find_vit(model)
    depth = len(vit.blocks)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in _trainable(model):
        if name.startswith(prefix):
            layer = vit_layer_id(name[len(prefix) :], depth)
        else:
            layer = depth + 1  # necks and heads outside the ViT
        no_decay = is_no_decay(name, param)
        key = (layer, no_decay)
        if key not in groups:
            scale = decay_rate ** (depth + 1 - layer)
            groups[key] = dict(
                params=[],
                lr=lr * scale,
                lr_scale=scale,
                layer_id=layer,
                weight_decay=0.0 if no_decay else weight_decay,
                name=f'layer_{layer}_{"no_decay" if no_decay else "decay"}',
            )
        groups[key]['params'].append(param)
    return [groups[k] for k in sorted(groups, key=lambda k: (-k[0], k[1]))]
