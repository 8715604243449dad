"""The official MAE formulations (facebookresearch/mae), written out independently as references
for the unit tests of ``mae_plugin/models/``."""

from __future__ import annotations

import torch


def official_sincos(dim: int, grid: int) -> torch.Tensor:
    """``get_2d_sincos_pos_embed(dim, grid, cls_token=True)`` of the official util/pos_embed.py.

    The first half of the dims encodes the column (the official ``np.meshgrid(grid_w, grid_h)``
    puts w first), the second half the row; each half is sin then cos of position x omega,
    omega = 1 / 10000 ** (arange(dim / 4) / (dim / 4)).

    Returns:
        (1 + grid * grid, dim) float64: the cls row zeros, then the patches row by row.
    """
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))
    rows = [torch.zeros(dim, dtype=torch.float64)]
    for row in range(grid):
        for col in range(grid):
            halves = [torch.cat([torch.sin(p * omega), torch.cos(p * omega)]) for p in (col, row)]
            rows.append(torch.cat(halves))
    return torch.stack(rows)
