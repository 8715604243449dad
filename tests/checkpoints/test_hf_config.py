"""config.json of a Hugging Face folder on write: what the weights do not hold is given or said."""

import json
import os

import pytest
import torch

from mae_plugin.apis import init_model
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import DEMO_CFG, save_plugin_checkpoint
from tests.helpers.hf import random_mae


def test_writing_a_decoder_needs_to_be_told_its_pixel_space(tmp_path):
    src = save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')
    with pytest.raises(ValueError, match='norm_pix_loss: say whether'):
        convert_checkpoint(src, tmp_path / 'hf', 'hf', num_heads=3, decoder_num_heads=2)
    with pytest.raises(ValueError, match=r'width of 48 is none .* \(--num-heads\)'):
        convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True)
    with pytest.raises(ValueError, match=r"\['norm_pix'\] only apply to --to hf"):
        convert_checkpoint(src, tmp_path / 'timm.pth', 'timm', norm_pix=True)
    assert sorted(os.listdir(tmp_path)) == ['src.pth']  # nothing written


def test_paper_head_counts_are_taken_by_width_and_said(tmp_path):
    torch.manual_seed(0)
    mae = init_model(DEMO_CFG).mae  # 192 wide (ViT-Ti, 3 heads), decoder 128 wide
    src = save_plugin_checkpoint(mae, tmp_path / 'demo.pth')
    conv = convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True, decoder_num_heads=4)
    config = json.loads((tmp_path / 'hf' / 'config.json').read_text())
    assert config['num_attention_heads'] == 3 and config['decoder_num_attention_heads'] == 4
    assert "note: num_attention_heads = 3: the paper's head count for width 192" in conv.report()
