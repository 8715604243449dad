"""Pictures a person can read: panels enlarged to at least 224 px, columns named in a header.

Runner-free (numpy + PIL): the MMEngine hook, ``tools/visualize_reconstruction.py`` and any other
runner's callback lay out their reconstruction grids (:mod:`.panels`) with the same function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

RECONSTRUCTION_COLUMNS = ('original', 'masked', 'reconstruction', 'reconstruction + visible')
MIN_PANEL = 224  # pixels on the shorter side of a panel, as the paper's pictures are
FONT_SIZE = 18  # Pillow's bundled Aileron (no download); 'reconstruction + visible' is 190 px
HEADER = 30  # pixels of the header row
GAP = 4  # white pixels between panels, so that each panel's edge is seen


def upscale_factor(height: int, width: int, min_size: int = MIN_PANEL) -> int:
    """The smallest integer factor enlarging a panel to ``min_size`` px on its shorter side.

    1 when it already is: 64 px -> 4 (256 px).
    """
    if height < 1 or width < 1:
        raise ValueError(f'a panel needs a positive size, got {height} x {width}')
    return max(1, math.ceil(min_size / min(height, width)))


def labelled_grid(
    grid: np.ndarray,
    rows: int,
    columns: Sequence[str] = RECONSTRUCTION_COLUMNS,
    min_size: int = MIN_PANEL,
) -> np.ndarray:
    """Enlarge a grid of panels and name its columns.

    Nearest neighbour by an integer factor; the panels set apart by white gaps, the column
    names on a white header row above them.

    Args:
        grid: (rows*H, K*W, 3) uint8, ``rows`` rows of K = len(columns) equal panels.
        rows: number of panel rows.
        columns: one name per panel column, drawn centred over it in black.
        min_size: smallest shorter side of an enlarged panel.

    Returns:
        (HEADER + rows*(H*f + GAP) - GAP, K*(W*f + GAP) - GAP, 3) uint8, f =
        :func:`upscale_factor` (H, W); panel (r, k) starts at row HEADER + r*(H*f + GAP),
        column k*(W*f + GAP).
    """
    grid = np.asarray(grid)
    if grid.dtype != np.uint8 or grid.ndim != 3 or grid.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) uint8 grid, got {grid.dtype} {grid.shape}')
    if rows < 1 or grid.shape[0] % rows or not columns or grid.shape[1] % len(columns):
        raise ValueError(
            f'a {grid.shape[0]} x {grid.shape[1]} grid does not split into {rows} rows of '
            f'{len(columns)} equal panels'
        )
    height, width = grid.shape[0] // rows, grid.shape[1] // len(columns)
    factor = upscale_factor(height, width, min_size)
    step_y, step_x = height * factor + GAP, width * factor + GAP
    out = np.full((HEADER + rows * step_y - GAP, len(columns) * step_x - GAP, 3), 255, np.uint8)
    for r in range(rows):
        for k in range(len(columns)):
            panel = grid[r * height : (r + 1) * height, k * width : (k + 1) * width]
            top, left = HEADER + r * step_y, k * step_x
            big = panel.repeat(factor, axis=0).repeat(factor, axis=1)
            out[top : top + height * factor, left : left + width * factor] = big
    font = ImageFont.load_default(size=FONT_SIZE)  # FreeType needed: an ImportError otherwise
    header = Image.fromarray(out[:HEADER])
    draw = ImageDraw.Draw(header)
    for k, name in enumerate(columns):
        length = draw.textlength(name, font=font)
        if length > width * factor:
            raise ValueError(f'column name {name!r} is wider ({length:.0f} px) than its panel')
        centre = (k * step_x + width * factor / 2, HEADER / 2)
        draw.text(centre, name, fill='black', font=font, anchor='mm')
    out[:HEADER] = np.asarray(header)
    return out
