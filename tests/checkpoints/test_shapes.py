"""A conversion checks every tensor against the architecture its weights imply."""

import os

import pytest
import torch

from mae_plugin.checkpoints import (
    from_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import save


def test_conversion_checks_every_shape(tmp_path, demo_core):
    official = from_core(demo_core, 'official')
    official['model']['blocks.2.mlp.fc2.weight'] = torch.zeros(192, 100)
    del official['model']['decoder_blocks.1.norm1.bias']
    src = save(tmp_path, 'broken.pth', official)
    with pytest.raises(ValueError) as err:
        convert_checkpoint(src, tmp_path / 'out.pth', 'plugin')
    text = str(err.value)
    assert 'encoder.vit.blocks.2.mlp.fc2.weight' in text and 'decoder.blocks.1.norm1.bias' in text
    assert not os.path.exists(tmp_path / 'out.pth')  # nothing written
