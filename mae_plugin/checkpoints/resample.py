"""Position-embedding resampling (timm's ``resample_abs_pos_embed``) for a new patch grid.

A (1, 1 + N, D) table does not say its grid: N = 96 is 12x8, 8x12, 16x6, ...; N = 576 is 24x24
but also 18x32. The grid of a table is what the caller gives (``--src-img-size H W``,
``src_img_size=(H, W)``), else what the checkpoint records (plugin ``meta['pos_embed_grid']``,
Hugging Face ``image_size``, Lightning ``hyper_parameters``), else, when N is a square, the
square grid, said in the report with how to give another; any other N is an error saying how to
give the grid. The grid of the model the table is read for is never taken for the table's.
"""

from __future__ import annotations

import math

from timm.layers import resample_abs_pos_embed

from .core import Conversion
from .model_meta import GRID_META_KEY


def grid_of_size(img_size: tuple[int, int], patch: int, what: str) -> tuple[int, int]:
    """Patch grid (h, w) of an (H, W) input; ValueError unless ``patch`` divides both."""
    if len(img_size) != 2 or img_size[0] % patch or img_size[1] % patch:
        raise ValueError(
            f"{what} {tuple(img_size)} is not divisible by the checkpoint's patch size {patch}"
        )
    return img_size[0] // patch, img_size[1] // patch


def table_grid(
    conv: Conversion,
    key: str,
    given: tuple[int, int] | None = None,
    hint: str = '',
) -> tuple[int, int]:
    """The (h, w) grid of the (1, 1 + h*w, D) table ``conv.state[key]``.

    Args:
        conv: the conversion holding the table.
        key: the core key of the table.
        given: the grid the caller says the table has (from ``--src-img-size``); must agree
            with the one the checkpoint records (``conv.grid``) and with the table.
        hint: how the caller gives the input size, for the note and the error.

    A square grid taken because nothing says otherwise is noted in ``conv.notes``.
    """
    tokens = conv.state[key].shape[1] - 1
    recorded = conv.grid
    if given is not None and recorded is not None and tuple(given) != tuple(recorded):
        raise ValueError(
            f'the given source image size (--src-img-size, src_img_size) makes a '
            f'{given[0]}x{given[1]} grid but the checkpoint '
            f'records {recorded[0]}x{recorded[1]}'
        )
    grid = given or recorded
    if grid is not None:
        if grid[0] * grid[1] != tokens:
            said = 'the given source image size makes' if given else 'the checkpoint records'
            raise ValueError(
                f'{key}: {said} a {grid[0]}x{grid[1]} grid but the table has {tokens} patch entries'
            )
        return int(grid[0]), int(grid[1])
    side = math.isqrt(tokens)
    if side * side == tokens:
        conv.notes.append(
            f'position tables of {tokens} entries read as a square {side}x{side} grid (the '
            f'file does not record its grid; another: {hint})'
        )
        return side, side
    raise ValueError(
        f'{key}: cannot tell the patch grid of a position table with {tokens} '
        'patch entries: it is not a square and the checkpoint does not record its '
        f"grid (meta['{GRID_META_KEY}']). Give the input size the table was made for with {hint}"
    )


def resample_table(
    conv: Conversion, key: str, new_grid: tuple[int, int], old_grid: tuple[int, int]
) -> None:
    """Resample ``conv.state[key]`` from ``old_grid`` to ``new_grid`` in place.

    Only when they differ, said in ``conv.resampled``.
    """
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
