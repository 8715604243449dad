"""Position-embedding resampling (timm's ``resample_abs_pos_embed``) for a new patch grid."""
from __future__ import annotations

import math

from timm.layers import resample_abs_pos_embed
from torch import Tensor

from .core import Conversion


def square_grid(pos_embed: Tensor, num_prefix_tokens: int = 1) -> tuple[int, int]:
    """The (h, w) grid of a (1, prefix + h*w, D) table pretrained on a square grid."""
    tokens = pos_embed.shape[1] - num_prefix_tokens
    side = math.isqrt(tokens)
    if side * side != tokens:
        raise ValueError(f'cannot infer the grid of a position table with {tokens} patch tokens '
                         '(not a square); give the source grid')
    return side, side


def resample_table(conv: Conversion, key: str, new_grid: tuple[int, int],
                   old_grid: tuple[int, int] | None = None) -> None:
    """Resample ``conv.state[key]`` to ``new_grid`` in place when the grids differ; say so."""
    table = conv.state[key]
    old_grid = tuple(old_grid or square_grid(table))
    new_grid = tuple(new_grid)
    if old_grid == new_grid:
        return
    conv.state[key] = resample_abs_pos_embed(table, list(new_grid), list(old_grid),
                                             num_prefix_tokens=1)
    conv.resampled.append(f'{key}: grid {old_grid[0]}x{old_grid[1]} -> '
                          f'{new_grid[0]}x{new_grid[1]} (timm resample_abs_pos_embed, bicubic)')
