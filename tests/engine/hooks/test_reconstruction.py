"""The reconstruction pictures: a perfect prediction of a grey photograph is shown grey (what a
picture shows of it must be the input, whatever the colours)."""

import os

import torch

from mae_plugin.apis import init_model
from mae_plugin.data import IMAGENET_MEAN, read_center_crop
from mae_plugin.engine.hooks.reconstruction import reconstruction_picture
from mae_plugin.models.mae import MAEOutput, MaskedAutoencoder
from mae_plugin.models.masking import fixed_masks
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers.checkpoints import DEMO_CFG

STEP = 4 * 64 + GAP  # a 64-px demo panel enlarged 4 x, and the gap after it


class PerfectMAE(MaskedAutoencoder):
    """Predicts every patch exactly (the loss target itself): what a picture shows of it must
    be the input, whatever the colours, or the display code is wrong."""

    def forward(
        self, images: torch.Tensor, mask: torch.Tensor | None = None, num_visible: int | None = None
    ) -> MAEOutput:
        return MAEOutput(loss=images.new_zeros(()), pred=self.target(images), mask=mask)


def test_a_perfect_prediction_of_a_grey_photograph_is_shown_grey(demo_root):
    """A grey pixel has three different values in the ImageNet-normalised space and the
    norm-pix target normalises each patch over its three channels together: undoing it per
    channel, or denormalising with the channels' statistics in the wrong order, tints grey."""
    model = init_model(DEMO_CFG)
    model.mae = PerfectMAE(model.mae.encoder, model.mae.decoder, model.mae.loss)
    images = torch.stack(
        [
            read_center_crop(os.path.join(demo_root, 'train', f'{n}.jpg'), 64)
            for n in ('camera', 'moon')
        ]
    )
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])
    masks = fixed_masks((8, 8), 2, 0.75, 'random', seed=0)
    picture = torch.from_numpy(reconstruction_picture(model, images, masks)).int()
    for row in range(2):
        top = HEADER + row * STEP
        expected = images[row].int().repeat_interleave(4, 1).repeat_interleave(4, 2)
        for column in (0, 2, 3):  # original, reconstruction, reconstruction + visible
            panel = picture[top : top + 256, column * STEP : column * STEP + 256].permute(2, 0, 1)
            assert (panel - expected).abs().max() <= 1, column  # grey, and the input itself
        masked = picture[top : top + 256, STEP : STEP + 256]
        hidden = masks[row].view(8, 8).repeat_interleave(32, 0).repeat_interleave(32, 1)
        fill = torch.tensor([round(m) for m in IMAGENET_MEAN])
        assert (masked[hidden] - fill).abs().max() <= 1  # masked patches: the mean colour
        assert (masked[~hidden] - expected.permute(1, 2, 0)[~hidden]).abs().max() <= 1
