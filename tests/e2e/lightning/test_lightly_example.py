"""lightly's own MAE example (``examples/pytorch_lightning/mae.py``, lightly >= 1.6) and its data
pipeline, against the plugin.

The example module is built here as the example builds it, from lightly's public classes, at
tiny size: a timm ``VisionTransformer`` keeping its 1000-class head inside
``MaskedVisionTransformerTIMM``, ``decoder_embed`` + ``MaskedVisionTransformerDecoderTIMM`` +
``prediction_head``, an MSE loss on the raw (normalised) pixels of the masked patches. Its
Lightning ``.ckpt`` must give the plugin's MAE the same predictions and loss for the same
images and masks, and ``--to lightly`` must load back into it with ``strict=True``. Then the
plugin's ``MAELightningModule`` must train on lightly's pipeline (``LightlyDataset`` +
``MAETransform``) as lightly's module does.
"""

import os

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.paths import ROOT
from tools.convert_checkpoint import main as convert

lightly_modules = pytest.importorskip('lightly.models.modules')

if not hasattr(lightly_modules, 'MaskedVisionTransformerDecoderTIMM'):
    pytest.skip('lightly < 1.6: no MaskedVisionTransformerDecoderTIMM', allow_module_level=True)

DEMO_CFG = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')

IMG, PATCH, DIM, DEC_DIM = 64, 8, 48, 32

TINY_CFG = {
    'model.encoder.embed_dim': DIM,
    'model.encoder.depth': 2,
    'model.encoder.num_heads': 3,
    'model.decoder.embed_dim': DEC_DIM,
    'model.decoder.depth': 1,
    'model.decoder.num_heads': 2,
}


class ExampleMAE(pl.LightningModule):
    """lightly's example module at tiny size (64 px, patch 8, width 48, decoder 32 x 1)."""

    def __init__(self) -> None:
        super().__init__()
        from lightly.models.modules import (
            MaskedVisionTransformerDecoderTIMM,
            MaskedVisionTransformerTIMM,
        )
        from lightly.models.modules.masked_vision_transformer_timm import init_weights
        from timm.models.vision_transformer import VisionTransformer

        vit = VisionTransformer(img_size=IMG, patch_size=PATCH, embed_dim=DIM, depth=2, num_heads=3)
        assert vit.head.out_features == 1000  # as vit_base_patch32_224() in the example
        self.mask_ratio, self.patch_size = 0.75, PATCH
        self.backbone = MaskedVisionTransformerTIMM(vit=vit)
        self.sequence_length = self.backbone.sequence_length
        self.decoder_embed = nn.Linear(DIM, DEC_DIM)
        self.decoder = MaskedVisionTransformerDecoderTIMM(
            num_patches=vit.patch_embed.num_patches,
            embed_dim=DEC_DIM,
            depth=1,
            num_heads=2,
            num_prefix_tokens=vit.num_prefix_tokens,
            mlp_ratio=4.0,
            proj_drop_rate=0.0,
            attn_drop_rate=0.0,
        )
        self.prediction_head = nn.Linear(DEC_DIM, PATCH**2 * 3)
        self.decoder_embed.apply(init_weights)
        self.prediction_head.apply(init_weights)
        self.criterion = nn.MSELoss()

    def predict(self, images, idx_keep, idx_mask):
        """(predictions of the masked patches (B, n_mask, p*p*3), loss), as the example."""
        from lightly.models import utils

        encoded = self.backbone.encode(images=images, idx_keep=idx_keep)
        x = self.decoder_embed(encoded)
        full = x.new_zeros(images.shape[0], self.sequence_length, x.shape[-1])
        full = utils.set_at_index(full, idx_keep, x)
        decoded = utils.get_at_index(self.decoder(full, idx_mask=idx_mask), idx_mask)
        pred = self.prediction_head(decoded)
        target = utils.get_at_index(utils.patchify(images, self.patch_size), idx_mask - 1)
        return pred, self.criterion(pred, target)

    def training_step(self, batch, batch_idx):
        from lightly.models import utils

        images = batch[0][0]  # views: a single one
        idx_keep, idx_mask = utils.random_token_mask(
            (images.shape[0], self.sequence_length), self.mask_ratio, device=images.device
        )
        return self.predict(images, idx_keep, idx_mask)[1]

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-3)


def lightly_loader(demo_root, batch_size=4):
    """lightly's pipeline: LightlyDataset of a folder through MAETransform, as the example."""
    from lightly.data import LightlyDataset
    from lightly.transforms import MAETransform

    dataset = LightlyDataset(
        input_dir=os.path.join(demo_root, 'train'), transform=MAETransform(input_size=IMG)
    )
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0
    )


def fit(module, loader, root, steps):
    trainer = pl.Trainer(
        max_steps=steps,
        max_epochs=1,
        default_root_dir=str(root),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=False,
    )
    trainer.fit(module, train_dataloaders=loader)
    return trainer


@pytest.mark.slow
def test_the_ckpt_of_lightlys_example_gives_the_plugin_its_predictions_and_loss(
    tmp_path, demo_root
):
    from lightly.models import utils

    from mae_plugin.apis import init_model

    torch.manual_seed(0)
    example = ExampleMAE()
    trainer = fit(example, lightly_loader(demo_root), tmp_path, steps=3)
    ckpt = str(tmp_path / 'example.ckpt')
    trainer.save_checkpoint(ckpt)

    model = init_model(DEMO_CFG, ckpt, cfg_options=TINY_CFG, norm_pix=False)
    report = model.load_report
    assert report.format == 'lightly' and report.left_new == []
    assert {'backbone.vit.head.weight', 'backbone.vit.head.bias', 'backbone.mask_token'} <= set(
        report.dropped
    )
    assert 'classifier head' in report.conversion.report()

    images = next(iter(lightly_loader(demo_root)))[0][0]
    idx_keep, idx_mask = utils.random_token_mask((4, 1 + 64), 0.75)
    mask = torch.zeros(4, 64, dtype=torch.bool).scatter_(1, idx_mask - 1, True)
    example.eval()
    with torch.no_grad():
        pred, loss = example.predict(images, idx_keep, idx_mask)
        out = model.mae(images, mask)
    ours = torch.gather(out.pred, 1, (idx_mask - 1).unsqueeze(-1).expand(-1, -1, pred.shape[-1]))
    torch.testing.assert_close(ours, pred, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss, loss, rtol=1e-5, atol=1e-6)

    # and back: --to lightly loads into the example module with strict=True, every weight equal
    out_path = tmp_path / 'lightly.pth'
    convert([ckpt, str(out_path), '--to', 'lightly'])
    fresh = ExampleMAE()
    fresh.load_state_dict(load_checkpoint_file(out_path), strict=True)
    trained = example.state_dict()
    for key, value in fresh.state_dict().items():
        if key.startswith('backbone.vit.head.') or key == 'backbone.mask_token':
            assert not value.any(), key  # unused by MAE: written as zeros
        else:
            assert torch.equal(value, trained[key]), key


@pytest.mark.slow
def test_the_plugin_module_trains_on_lightlys_pipeline_without_normalising_twice(
    tmp_path, demo_root
):
    from mae_plugin.lightning import MAELightningModule

    torch.manual_seed(0)
    module = MAELightningModule(
        arch='tiny',
        img_size=IMG,
        patch_size=PATCH,
        embed_dim=DIM,
        depth=2,
        num_heads=3,
        decoder_embed_dim=DEC_DIM,
        decoder_depth=1,
        decoder_num_heads=2,
        warmup_epochs=0.2,
    )
    seen, batches = [], []
    module.mae.register_forward_pre_hook(lambda _, args: seen.append(args))

    class Keep(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            batches.append(batch)

    trainer = pl.Trainer(
        max_steps=2,
        max_epochs=1,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=False,
        callbacks=[Keep()],
    )
    trainer.fit(module, train_dataloaders=lightly_loader(demo_root))
    assert trainer.global_step == 2 and len(seen) == 2
    for batch, args in zip(batches, seen, strict=True):
        views, _, filenames = batch  # lightly's (views, targets, filenames)
        assert len(filenames) == 4
        # MAETransform's normalised images reach the MAE as they are (normalised once)
        assert torch.equal(args[0], views[0])
        # no mask in the batch: one drawn on the images' device at the model's ratio
        mask = args[1]
        assert mask.shape == (4, module.mae.num_patches) and mask.device == views[0].device
        assert ((~mask).sum(1) == module.mae.num_patches // 4).all()
    assert not torch.equal(seen[0][1], seen[1][1])
    assert torch.isfinite(trainer.callback_metrics['loss'])
