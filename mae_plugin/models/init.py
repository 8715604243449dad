"""Weight initialisation shared by the MAE encoder and decoder (the official recipe)."""

from __future__ import annotations

import torch
from lightly.models.utils import get_2d_sine_cosine_positional_embedding
from torch import nn


def init_linear_and_norm(module: nn.Module) -> None:
    """Official MAE init of one module, for ``nn.Module.apply``.

    Linear: xavier uniform weight, zero bias; LayerNorm: weight 1, bias 0; other modules are
    left as they are.
    """
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def fill_sincos_pos_embed(pos_embed: torch.Tensor, grid_size: tuple[int, int]) -> None:
    """Write the fixed 2-D sin-cos table into ``pos_embed`` (1, 1 + H*W, D), cls slot 0 = zeros.

    The table comes from lightly (a port of the official ``get_2d_sincos_pos_embed``); it is
    defined for square grids, which is what MAE pretrains on.

    Raises:
        ValueError: ``grid_size`` is not square.
    """
    height, width = grid_size
    if height != width:
        raise ValueError(f'sin-cos position embedding needs a square patch grid, got {grid_size}')
    table = get_2d_sine_cosine_positional_embedding(pos_embed.shape[-1], height, cls_token=True)
    with torch.no_grad():
        pos_embed.copy_(torch.from_numpy(table).float().unsqueeze(0))
