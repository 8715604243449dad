"""The labelled picture layout: panels enlarged by an integer factor, a header naming them; the
reconstruction grid of the demo model and its visible panels."""

import numpy as np
import pytest
import torch
from skimage import data

from mae_plugin.apis import init_model
from mae_plugin.engine.hooks.reconstruction import reconstruction_grid
from mae_plugin.models.masking import fixed_masks
from mae_plugin.monitor.layout import (
    GAP,
    HEADER,
    RECONSTRUCTION_COLUMNS,
    labelled_grid,
    upscale_factor,
)
from tests.helpers.checkpoints import DEMO_CFG

STEP = 256 + GAP  # a 64-px panel enlarged 4 x, and the gap after it


def photo_grid(rows: int, size: int) -> np.ndarray:
    """(rows*size, 4*size, 3) uint8 cut from scikit-image's astronaut photograph."""
    photo = data.astronaut()
    return np.ascontiguousarray(photo[: rows * size, : 4 * size])


@pytest.mark.parametrize(
    ('height', 'width', 'factor'),
    [
        (64, 64, 4),
        (32, 32, 7),
        (70, 70, 4),
        (224, 224, 1),
        (300, 500, 1),
        (48, 200, 5),
        (100, 64, 4),
    ],
)
def test_the_factor_is_the_smallest_integer_reaching_224(height, width, factor):
    assert upscale_factor(height, width) == factor
    side = min(height, width)
    assert side * factor >= 224 and (factor == 1 or side * (factor - 1) < 224)


def test_panels_are_enlarged_by_nearest_neighbour_under_the_header():
    grid = photo_grid(rows=2, size=64)
    picture = labelled_grid(grid, rows=2)
    assert picture.shape == (HEADER + 2 * STEP - GAP, 4 * STEP - GAP, 3)
    assert picture.dtype == np.uint8
    for r in range(2):
        for k in range(4):
            top, left = HEADER + r * STEP, k * STEP
            panel = picture[top : top + 256, left : left + 256]
            source = grid[r * 64 : (r + 1) * 64, k * 64 : (k + 1) * 64]
            # every 4 x 4 block is one pixel of the source panel
            assert np.array_equal(panel[::4, ::4], source)
            assert np.array_equal(panel[3::4, 1::4], source)
    assert (picture[HEADER + 256 : HEADER + STEP] == 255).all()  # white gap between rows
    assert (picture[HEADER:, 256:STEP] == 255).all()  # and between columns


def test_each_column_name_is_drawn_over_its_own_panel():
    picture = labelled_grid(photo_grid(rows=1, size=64), rows=1)
    header = picture[:HEADER].astype(int)
    ink = header.min(axis=2) < 128  # dark text on white
    assert ink[:, :2].sum() == 0 and ink[:, -2:].sum() == 0  # margins stay white
    widths = []
    for index, name in enumerate(RECONSTRUCTION_COLUMNS):
        columns = np.flatnonzero(ink[:, index * STEP : index * STEP + 256].any(axis=0))
        assert columns.size, f'no text over panel {index} ({name!r})'
        centre = (columns[0] + columns[-1]) / 2
        assert abs(centre - 128) < 8, (name, centre)  # centred over the panel
        widths.append(columns[-1] - columns[0])
    # the longer names take more room: the text is the names, in order
    assert widths[0] < widths[2] < widths[3] and widths[1] < widths[2]


def test_a_large_panel_keeps_its_size_and_a_bad_split_is_an_error():
    grid = np.ascontiguousarray(data.astronaut()[:240, :480])  # two 240-px panels
    assert labelled_grid(grid, rows=1, columns=('a', 'b')).shape == (HEADER + 240, 480 + GAP, 3)
    with pytest.raises(ValueError, match='does not split into 3 rows'):
        labelled_grid(photo_grid(rows=2, size=64), rows=3)
    with pytest.raises(ValueError, match='wider'):
        labelled_grid(photo_grid(rows=1, size=64), rows=1, columns=['x' * 200] * 4)
    with pytest.raises(ValueError, match='uint8'):
        labelled_grid(photo_grid(rows=1, size=64).astype(np.float32), rows=1)


def test_grid_layout_and_visible_panels():
    model = init_model(DEMO_CFG)
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    masks = fixed_masks((8, 8), 2, 0.75, 'random', seed=0)
    grid = reconstruction_grid(model, images, masks)
    assert grid.shape == (2 * 64, 4 * 64, 3) and grid.dtype.name == 'uint8'
    original = torch.from_numpy(grid[:64, :64]).permute(2, 0, 1).int()
    assert (original - images[0].int()).abs().max() <= 1  # normalise + undo: rounding only
    pasted = torch.from_numpy(grid[:64, 192:]).permute(2, 0, 1).int()
    visible = (~masks[0]).view(8, 8).repeat_interleave(8, 0).repeat_interleave(8, 1)
    diff = (pasted - images[0].int()).abs().amax(0)
    assert int(diff[visible].max()) <= 1  # visible patches are pasted back unchanged
    assert torch.equal(
        fixed_masks((8, 8), 2, 0.75, 'block', 5), fixed_masks((8, 8), 2, 0.75, 'block', 5)
    )  # reproducible from the seed
