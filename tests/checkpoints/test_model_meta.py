"""Checkpoints written by training say what the weights do not hold (norm-pix, head counts, mask
ratio, input size) as plain data, so ``convert_checkpoint.py --to hf`` needs no flag for them:
the MMEngine runner (``meta['mae_model']``) and Lightning (``.ckpt['mae_model']``)."""

import glob
import json
import os

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tools.convert_checkpoint import main as convert

# the tiny model both runs train: 64 px, patch 8, width 48 (3 heads), decoder 32 (2 heads)
EXPECTED = {
    'img_size': [64, 64],
    'patch_size': 8,
    'embed_dim': 48,
    'depth': 2,
    'num_heads': 3,
    'decoder_embed_dim': 32,
    'decoder_depth': 1,
    'decoder_num_heads': 2,
    'mask_ratio': 0.75,
    'norm_pix': False,
}


def assert_hf_config_says_the_model(folder):
    config = json.load(open(os.path.join(folder, 'config.json')))
    assert config['norm_pix_loss'] is False  # the model's, not the paper's default
    assert config['num_attention_heads'] == 3 and config['decoder_num_attention_heads'] == 2
    assert config['mask_ratio'] == 0.75 and config['image_size'] == 64
    assert config['patch_size'] == 8


@pytest.mark.slow
def test_an_mmengine_checkpoint_converts_to_hf_without_flags(tmp_path, tiny_demo_run):
    # the shared tiny demo run (tests/conftest.py) trains with norm-pix off
    path = os.path.join(tiny_demo_run[0], 'iter_6.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    meta = load_checkpoint_file(path)['meta']
    assert meta['mae_model'] == EXPECTED and meta['pos_embed_grid'] == [8, 8]
    convert([path, str(tmp_path / 'hf'), '--to', 'hf'])
    assert_hf_config_says_the_model(tmp_path / 'hf')
    # the meta goes on with a plugin -> plugin conversion, and from there to hf
    convert([path, str(tmp_path / 'again.pth'), '--to', 'plugin'])
    assert load_checkpoint_file(tmp_path / 'again.pth')['meta']['mae_model'] == EXPECTED
    convert([str(tmp_path / 'again.pth'), str(tmp_path / 'hf2'), '--to', 'hf'])
    assert_hf_config_says_the_model(tmp_path / 'hf2')


@pytest.mark.slow
def test_a_lightning_ckpt_converts_to_hf_without_flags(tmp_path, demo_root):
    """The head count comes from the arch ('tiny': 3), not from a hyper-parameter."""
    import pytorch_lightning as pl

    from mae_plugin.lightning import MAEDataModule, MAELightningModule

    module = MAELightningModule(
        arch='tiny',
        img_size=64,
        patch_size=8,
        embed_dim=48,
        depth=2,
        decoder_embed_dim=32,
        decoder_depth=1,
        decoder_num_heads=2,
        norm_pix=False,
        warmup_epochs=0.2,
    )
    assert module.hparams.num_heads is None
    data = MAEDataModule(demo_root, img_size=64, patch_size=8, batch_size=4, num_workers=0)
    trainer = pl.Trainer(
        max_steps=2,
        max_epochs=1,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )
    trainer.fit(module, data)
    (path,) = glob.glob(str(tmp_path / 'checkpoints' / '*.ckpt'))
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    assert load_checkpoint_file(path)['mae_model'] == EXPECTED
    convert([path, str(tmp_path / 'hf'), '--to', 'hf'])
    assert_hf_config_says_the_model(tmp_path / 'hf')
