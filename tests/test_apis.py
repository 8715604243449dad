"""mae_plugin.apis: a raw-pixel release reconstructs in its own space."""

import torch

from mae_plugin.apis import init_model
from mae_plugin.models.masking import fixed_masks
from tests.helpers.checkpoints import DEMO_CFG
from tests.helpers.mmengine_runs import TINY
from tests.helpers.models import demo_mae


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
