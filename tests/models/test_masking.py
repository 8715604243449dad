"""Mask generation: the official visible count, every strategy's exact count, uniform random
masks, block and grid masks, visible indices; a mask keeping another count is an error (on the
host for CPU masks, on the device in a graph) unless the count is given explicitly."""

import random

import numpy as np
import pytest
import torch
from lightly.models.utils import get_at_index, set_at_index

from mae_plugin.models.masking import (
    batch_random_mask,
    block_mask,
    grid_mask,
    make_mask,
    num_visible,
    random_mask,
    visible_indices,
)
from tests.helpers.models import pipeline_masks, tiny_mae


@pytest.mark.parametrize('ratio,expected', [(0.75, 49), (0.5, 98), (0.0, 196), (0.9, 19)])
def test_num_visible_is_official_int_floor(ratio, expected):
    assert num_visible(196, ratio) == expected == int(196 * (1 - ratio))


@pytest.mark.parametrize(
    'strategy,ratio',
    [('random', 0.75), ('random', 0.6), ('block', 0.5), ('block', 0.75), ('grid', 0.75)],
)
def test_every_strategy_keeps_exact_count(strategy, ratio):
    for seed in range(20):
        np.random.seed(seed)
        mask = make_mask(strategy, (14, 14), ratio)
        assert mask.shape == (196,) and mask.dtype == torch.bool
        assert int((~mask).sum()) == num_visible(196, ratio)


def test_random_mask_has_no_duplicates_and_differs_between_draws():
    rng = np.random.default_rng(0)
    a, b = random_mask((14, 14), 0.75, rng), random_mask((14, 14), 0.75, rng)
    ids = visible_indices(a[None], num_visible(196, 0.75))[0]
    assert len(set(ids.tolist())) == 49
    assert not torch.equal(a, b)


def test_random_masking_covers_patches_uniformly():
    rng = np.random.default_rng(0)
    draws = torch.stack([random_mask((8, 8), 0.75, rng) for _ in range(4000)]).float()
    freq = draws.mean(0)  # each patch should be masked 75% of the time
    # binomial std of a frequency over 4000 draws is ~0.0068; allow 5 sigma
    assert float((freq - 0.75).abs().max()) < 0.035
    batched = batch_random_mask(4000, 64, 0.75).float().mean(0)
    assert float((batched - 0.75).abs().max()) < 0.035


def _seeded_block_mask(seed):
    random.seed(seed)  # lightly's block generator draws from Python's random
    np.random.seed(seed)  # the top-up to the exact count draws from numpy's
    return block_mask((14, 14), 0.5).view(14, 14)


def test_block_mask_is_blocky():
    mask = _seeded_block_mask(0)
    assert torch.equal(_seeded_block_mask(0), mask)  # seeded, the test is deterministic
    assert int(mask.sum()) == 98

    # a block mask has many more masked horizontal neighbours than a random one of equal size
    def neighbours(m):
        return int((m[:, 1:] & m[:, :-1]).sum())

    rand = random_mask((14, 14), 0.5, np.random.default_rng(0)).view(14, 14)
    assert neighbours(mask) > neighbours(rand) + 15
    # and so do vertical neighbours: blocks, not stripes
    assert neighbours(mask.T) > neighbours(rand.T) + 15


def test_block_mask_with_an_rng_is_reproducible_and_leaves_random_alone():
    random.seed(123)
    state = random.getstate()
    first = block_mask((14, 14), 0.5, np.random.default_rng(1))
    assert random.getstate() == state  # the caller's Python random stream is untouched
    assert torch.equal(block_mask((14, 14), 0.5, np.random.default_rng(1)), first)
    assert not torch.equal(block_mask((14, 14), 0.5, np.random.default_rng(2)), first)


def test_grid_mask_keeps_one_of_every_two_by_two():
    mask = grid_mask((4, 4)).view(4, 4)
    expected_visible = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]).bool()
    assert torch.equal(~mask, expected_visible)
    with pytest.raises(ValueError, match='0.75'):
        grid_mask((4, 4), 0.5)


@pytest.mark.parametrize('bad', [1.0, -0.1, 1.5])
def test_mask_ratio_outside_unit_interval_is_an_error(bad):
    with pytest.raises(ValueError, match='mask_ratio'):
        make_mask('random', (4, 4), bad)


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError, match='strategy'):
        make_mask('checkerboard', (4, 4), 0.75)


def test_visible_indices_then_scatter_restores_order():
    torch.manual_seed(0)
    mask = batch_random_mask(3, 16, 0.75)
    ids = visible_indices(mask, 4)
    assert torch.all(ids[:, 1:] > ids[:, :-1])  # sorted, hence unique
    tokens = torch.randn(3, 16, 5)
    kept = get_at_index(tokens, ids)
    restored = set_at_index(torch.zeros_like(tokens), ids, kept)
    visible = ~mask
    assert torch.equal(restored[visible], tokens[visible])
    assert torch.all(restored[mask] == 0)


def test_visible_indices_rejects_ragged_batches():
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[0, 0] = True
    with pytest.raises(
        ValueError, match=r'keep num_visible\(L, mask_ratio\) = 4 of its 4 patches, got \[3, 4\]'
    ):
        visible_indices(mask, 4)


def test_a_mask_keeping_another_count_names_the_counts():
    mae = tiny_mae()  # 16 patches at 0.75: keeps 4
    images = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r'= 4 of its 16 patches, got \[8, 8\]'):
        mae(images, batch_random_mask(2, 16, 0.5))
    mask = pipeline_masks(2)
    mask[1, torch.nonzero(mask[1])[0]] = False  # row 1 keeps 5
    with pytest.raises(ValueError, match=r'got \[4, 5\]'):
        mae(images, mask)


def test_a_wrong_count_inside_a_graph_fails_on_the_device():
    mae = tiny_mae()
    compiled = torch.compile(lambda x, m: mae(x, m).loss, backend='eager', fullgraph=True)
    with pytest.raises(RuntimeError, match=r'num_visible\(L, mask_ratio\) = 4 of its 16'):
        compiled(torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.5))


def test_an_explicit_count_serves_masks_of_another_ratio():
    mae = tiny_mae()
    out = mae(torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.5), num_visible=8)
    assert out.pred.shape == (2, 16, 192)
