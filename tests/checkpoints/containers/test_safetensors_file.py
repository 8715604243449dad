"""A ``.safetensors`` file: read by its ending, a damaged one named as corrupt, written atomically
(flat formats only, bit exact)."""

import os

import pytest
import torch

from mae_plugin import fileio
from mae_plugin.checkpoints import (
    CorruptCheckpointError,
    load_checkpoint_file,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import failing_fsync, save_plugin_checkpoint
from tests.helpers.hf import random_mae


@pytest.fixture
def src(tmp_path):
    return save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')


def test_a_truncated_safetensors_file_is_named_as_corrupt(tmp_path, src):
    convert_checkpoint(src, tmp_path / 'vit.safetensors', 'timm')
    data = (tmp_path / 'vit.safetensors').read_bytes()
    (tmp_path / 'cut.safetensors').write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match="'.*cut.safetensors': truncated"):
        load_checkpoint_file(tmp_path / 'cut.safetensors')


@pytest.mark.parametrize('fmt', ['timm', 'hf', 'lightly'])
def test_flat_formats_round_trip_through_safetensors_bit_exact(tmp_path, src, fmt):
    conv = convert_checkpoint(src, tmp_path / f'{fmt}.safetensors', fmt)
    back = convert_checkpoint(tmp_path / f'{fmt}.safetensors', tmp_path / 'back.pth', 'plugin')
    assert back.format == fmt and conv.format == 'plugin'
    original = load_checkpoint_file(src)['state_dict']
    restored = load_checkpoint_file(tmp_path / 'back.pth')['state_dict']
    expected = {k: v for k, v in original.items() if fmt != 'timm' or k.startswith('mae.encoder')}
    assert restored.keys() == expected.keys()
    assert all(torch.equal(restored[k], v) for k, v in expected.items())


def test_a_failed_safetensors_write_leaves_the_destination_untouched(tmp_path, src, monkeypatch):
    dst = tmp_path / 'vit.safetensors'
    dst.write_bytes(b'the previous conversion')
    monkeypatch.setattr(fileio.os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated'):
        convert_checkpoint(src, dst, 'timm')
    assert dst.read_bytes() == b'the previous conversion'
    assert sorted(os.listdir(tmp_path)) == ['src.pth', 'vit.safetensors']
