import os

import torch
from PIL import Image

from mae_plugin.apis import init_model
from mae_plugin.data import IMAGENET_MEAN, read_center_crop
from mae_plugin.engine.hooks.reconstruction import reconstruction_grid, reconstruction_picture
from mae_plugin.models.mae import MAEOutput, MaskedAutoencoder
from mae_plugin.models.masking import fixed_masks
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers.mmengine_runs import TINY
from tests.helpers.models import demo_mae
from tests.helpers.paths import ROOT
from tools.visualize_reconstruction import main as visualize

DEMO_CFG = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
STEP = 4 * 64 + GAP  # a 64-px demo panel enlarged 4 x, and the gap after it


class PerfectMAE(MaskedAutoencoder):
    """Predicts every patch exactly (the loss target itself): what a picture shows of it must
    be the input, whatever the colours, or the display code is wrong."""

    def forward(
        self, images: torch.Tensor, mask: torch.Tensor | None = None, num_visible: int | None = None
    ) -> MAEOutput:
        return MAEOutput(loss=images.new_zeros(()), pred=self.target(images), mask=mask)


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


def test_visualize_tool_writes_png_of_expected_size(tmp_path, demo_root):
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': init_model(DEMO_CFG).state_dict()}, ckpt)
    out = tmp_path / 'recon.png'
    images = [
        os.path.join(demo_root, 'train', f'{n}.jpg') for n in ('astronaut', 'coffee', 'rocket')
    ]
    # the tool's function, in this process: docs/monitoring.md runs its command line
    options = ['--strategy', 'block', '--mask-ratio', '0.5', '--seed', '1']
    visualize([DEMO_CFG, str(ckpt), *images, '--out', str(out), *options])
    # 3 rows of 4 panels, each enlarged to 256 px, white gaps, a header naming the columns
    assert Image.open(out).size == (4 * STEP - GAP, HEADER + 3 * STEP - GAP)


def test_raw_pixel_release_reconstructs_in_its_own_space(tmp_path):
    """The official mae_visualize_* releases predict raw (normalised-image) pixels: with
    ``norm_pix=False`` the reconstruction is the prediction itself and the loss is scored
    against raw patches; left at the config's norm-pix, both would be wrong."""
    from mae_plugin.apis import reconstruct
    from mae_plugin.checkpoints import from_core

    torch.manual_seed(0)
    release = demo_mae(64, norm_pix=False)
    path = tmp_path / 'mae_visualize_tiny.pth'
    torch.save(from_core(release.state_dict(), 'official'), path)
    sizes = {k: v for k, v in TINY.items() if k.startswith('model.')}
    images = torch.randn(2, 3, 64, 64)
    masks = fixed_masks((8, 8), 2, 0.75, 'random', seed=0)

    model = init_model(DEMO_CFG, str(path), cfg_options=sizes, norm_pix=False)
    out = reconstruct(model, images, masks)
    raw = release.patchify(images)
    masked = masks.unsqueeze(-1)
    expected_loss = ((out.pred - raw) ** 2).mean(-1)[masks].mean()
    torch.testing.assert_close(out.loss, expected_loss)
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    shown = release.unpatchify(raw.where(~masked, out.pred)) * std + mean
    torch.testing.assert_close(out.images, shown.clamp(0, 255))

    wrong = reconstruct(init_model(DEMO_CFG, str(path), cfg_options=sizes), images, masks)
    assert not torch.allclose(wrong.loss, expected_loss)
