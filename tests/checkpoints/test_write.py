"""Writing a converted checkpoint to the container its destination names; formats that nest
their weights are refused as safetensors, naming the format."""

import os

import pytest

from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.hf import random_mae


@pytest.fixture
def src(tmp_path):
    return save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')


@pytest.mark.parametrize('fmt, nested', [('plugin', 'state_dict'), ('official', 'model')])
def test_nested_formats_are_refused_as_safetensors_naming_the_format(tmp_path, src, fmt, nested):
    with pytest.raises(
        ValueError,
        match=rf"the '{fmt}' format cannot be stored as safetensors "
        rf".*'{nested}'.*write a \.pth file",
    ):
        convert_checkpoint(src, tmp_path / 'out.safetensors', fmt)
    assert sorted(os.listdir(tmp_path)) == ['src.pth']  # nothing written, no partial file
