"""Reconstruction panels drawn the same way for every runner: a perfect prediction is shown as
the input itself, the masked panel holds the mean colour, the runner's forward and mode kept."""

import pytest
import torch

from mae_plugin.data.constants import IMAGENET_MEAN, IMAGENET_STD
from mae_plugin.models.mae import MAEOutput, MaskedAutoencoder
from mae_plugin.models.masking import fixed_masks
from mae_plugin.monitor.panels import draw_reconstructions, to_uint8_grid

MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def normalize(images: torch.Tensor) -> torch.Tensor:
    return (images.float() - MEAN) / STD


class PerfectMAE(MaskedAutoencoder):
    """Predicts every patch exactly (the loss target itself)."""

    def forward(self, images, mask=None, num_visible=None) -> MAEOutput:
        return MAEOutput(loss=images.new_zeros(()), pred=self.target(images), mask=mask)


def photos(count: int = 2, size: int = 32) -> torch.Tensor:
    """(count, 3, size, size) uint8 with structure and contrast in every patch."""
    ramp = torch.linspace(0, 255, size)
    image = torch.stack([ramp.view(1, -1).expand(size, size), ramp.view(-1, 1).expand(size, size)])
    image = torch.cat([image, (image[:1] + image[1:]) / 2]).round().to(torch.uint8)
    return torch.stack([image, image.flip(-1)])[:count]


def test_a_perfect_prediction_is_drawn_as_the_input(mae):
    perfect = PerfectMAE(mae.encoder, mae.decoder, mae.loss)
    images = photos()
    masks = fixed_masks((4, 4), 2, 0.75, 'random', seed=0)
    grid = draw_reconstructions(
        perfect, perfect, images, masks, normalize, IMAGENET_MEAN, IMAGENET_STD
    )
    assert grid.shape == (2 * 32, 4 * 32, 3) and grid.dtype == torch.uint8
    for row in range(2):
        expected = images[row].permute(1, 2, 0).int()
        for column in (0, 2, 3):  # original, reconstruction, reconstruction + visible
            panel = grid[row * 32 : (row + 1) * 32, column * 32 : (column + 1) * 32].int()
            assert (panel - expected).abs().max() <= 1, (row, column)
        masked = grid[row * 32 : (row + 1) * 32, 32:64].int()
        hidden = masks[row].view(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1)
        fill = torch.tensor([round(m) for m in IMAGENET_MEAN])
        assert (masked[hidden] - fill).abs().max() <= 1  # masked patches: the mean colour
        assert (masked[~hidden] - expected[~hidden]).abs().max() <= 1


def test_the_runners_forward_is_called_and_the_mode_restored(mae):
    calls = []

    def forward(inputs, masks, num_visible):
        calls.append((inputs.dtype, masks.shape, num_visible))
        return mae(inputs, masks, num_visible)

    module = torch.nn.ModuleDict(dict(mae=mae)).train()
    masks = fixed_masks((4, 4), 2, 0.5, 'random', seed=1)
    grid = draw_reconstructions(
        module, mae, photos(), masks, normalize, IMAGENET_MEAN, IMAGENET_STD, forward
    )
    assert calls == [(torch.float32, (2, 16), 8)] and grid.shape == (64, 128, 3)
    assert module.training and mae.training  # back in training mode

    def broken(inputs, masks, num_visible):
        assert not module.training  # drawn in eval mode
        raise RuntimeError('forward failed')

    with pytest.raises(RuntimeError, match='forward failed'):
        draw_reconstructions(
            module, mae, photos(), masks, normalize, IMAGENET_MEAN, IMAGENET_STD, broken
        )
    assert module.training  # restored on an error too


def test_the_grid_has_one_row_per_sample_and_one_column_per_panel():
    panels = torch.arange(2 * 4 * 3 * 2 * 2, dtype=torch.float32).view(2, 4, 3, 2, 2)
    grid = to_uint8_grid(panels, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert grid.shape == (4, 8, 3)
    for sample in range(2):
        for column in range(4):
            cell = grid[sample * 2 : sample * 2 + 2, column * 2 : column * 2 + 2]
            assert torch.equal(cell.permute(2, 0, 1), panels[sample, column].to(torch.uint8))
    clipped = to_uint8_grid(torch.full((1, 4, 3, 1, 1), 3.0), (10.0,) * 3, (100.0,) * 3)
    assert int(clipped.min()) == 255  # 3 * 100 + 10 clamps to 255
