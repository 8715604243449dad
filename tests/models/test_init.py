"""The official MAE init: the fixed 2-D sin-cos table of ``util/pos_embed.py`` (written out in
tests/helpers/official.py), xavier-uniform Linear weights with zero biases, LayerNorm ones and
zeros."""

import math

import pytest
import torch
from torch import nn

from mae_plugin.models.init import fill_sincos_pos_embed, init_linear_and_norm
from tests.helpers.official import official_sincos


@pytest.mark.parametrize('dim, grid', [(16, 4), (32, 3)])
def test_sincos_table_is_the_official_one(dim, grid):
    table = torch.full((1, 1 + grid * grid, dim), 5.0)
    fill_sincos_pos_embed(table, (grid, grid))
    torch.testing.assert_close(table[0].double(), official_sincos(dim, grid), rtol=0, atol=1e-6)
    assert torch.equal(table[0, 0], torch.zeros(dim))  # the cls slot


def test_a_grid_that_is_not_square_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r'square patch grid, got \(2, 3\)'):
        fill_sincos_pos_embed(torch.zeros(1, 7, 16), (2, 3))


def test_linear_is_xavier_uniform_with_zero_bias_and_layernorm_is_ones_and_zeros():
    """Xavier uniform draws from +-sqrt(6 / (fan_in + fan_out)): a bound torch's default
    Linear init (1 / sqrt(fan_in)) and xavier normal both miss."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(300, 200), nn.LayerNorm(200), nn.Conv2d(3, 4, 3))
    with torch.no_grad():
        model[1].weight.uniform_()
        model[1].bias.uniform_()
    conv = model[2].weight.detach().clone()
    model.apply(init_linear_and_norm)
    weight, bound = model[0].weight.detach(), math.sqrt(6 / (300 + 200))
    assert float(weight.abs().max()) <= bound
    assert float(weight.abs().max()) > 0.99 * bound
    assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert torch.equal(model[0].bias, torch.zeros(200))
    assert torch.equal(model[1].weight, torch.ones(200))
    assert torch.equal(model[1].bias, torch.zeros(200))
    assert torch.equal(model[2].weight, conv)  # other modules left as they are
