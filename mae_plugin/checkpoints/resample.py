"""Position-embedding resampling (timm's ``resample_abs_pos_embed``) for a new patch grid.

A (1, 1 + N, D) table does not say its grid: N = 96 is 12x8, 8x12, 16x6, ... So the grid of a
table is never guessed. It is what the checkpoint records (plugin ``meta['pos_embed_grid']``,
plain data), else the grid of the model or size it is read for when the token count matches,
else the square grid when N is a square; anything else is an error that says how to give it.
"""

from __future__ import annotations

import math
from typing import Any

from timm.layers import resample_abs_pos_embed
from torch import Tensor

from .core import Conversion

GRID_META_KEY = 'pos_embed_grid'  # in a plugin checkpoint's ``meta``: [h, w] of its tables


def grid_from_meta(meta: Any) -> tuple[int, int] | None:
    """The [h, w] a checkpoint's ``meta`` records under :data:`GRID_META_KEY`, or None."""
    if not isinstance(meta, dict) or GRID_META_KEY not in meta:
        return None
    value = meta[GRID_META_KEY]
    if not (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise ValueError(
            f"meta['{GRID_META_KEY}'] must be [h, w] (two positive ints), got {value!r}"
        )
    return int(value[0]), int(value[1])


def table_grid(
    table: Tensor,
    key: str,
    recorded: tuple[int, int] | None = None,
    matching: tuple[int, int] | None = None,
    hint: str = '',
) -> tuple[int, int]:
    """The (h, w) grid of the (1, 1 + h*w, D) table ``key``.

    Args:
        recorded: the grid the checkpoint records; must fit the table.
        matching: the grid the table is read for (target model, ``--img-size``); taken when the
            token count equals its h*w.
        hint: how the caller can give the grid, for the error when it cannot be known.
    """
    tokens = table.shape[1] - 1
    if recorded is not None:
        if recorded[0] * recorded[1] != tokens:
            raise ValueError(
                f'{key}: the checkpoint records a {recorded[0]}x{recorded[1]} grid '
                f'but the table has {tokens} patch entries'
            )
        return tuple(recorded)
    if matching is not None and matching[0] * matching[1] == tokens:
        return tuple(matching)
    side = math.isqrt(tokens)
    if side * side == tokens:
        return side, side
    target = (
        f', nor does it fit the {matching[0]}x{matching[1]} grid it is read for' if matching else ''
    )
    raise ValueError(
        f'{key}: cannot tell the patch grid of a position table with {tokens} '
        'patch entries: it is not a square and the checkpoint does not record its '
        f"grid (meta['{GRID_META_KEY}']){target}. {hint}"
    )


def resample_table(
    conv: Conversion, key: str, new_grid: tuple[int, int], old_grid: tuple[int, int]
) -> None:
    """Resample ``conv.state[key]`` from ``old_grid`` to ``new_grid`` in place when they
    differ; say so in ``conv.resampled``."""
    table = conv.state[key]
    old_grid, new_grid = tuple(old_grid), tuple(new_grid)
    if table.shape[1] - 1 != old_grid[0] * old_grid[1]:
        raise ValueError(
            f'{key}: a {old_grid[0]}x{old_grid[1]} grid does not fit a table with '
            f'{table.shape[1] - 1} patch entries'
        )
    if old_grid == new_grid:
        return
    conv.state[key] = resample_abs_pos_embed(
        table, list(new_grid), list(old_grid), num_prefix_tokens=1
    )
    conv.resampled.append(
        f'{key}: grid {old_grid[0]}x{old_grid[1]} -> '
        f'{new_grid[0]}x{new_grid[1]} (timm resample_abs_pos_embed, bicubic)'
    )
