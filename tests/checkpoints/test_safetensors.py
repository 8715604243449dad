""".safetensors in and out: chosen by the file ending, read through the same detection, written
atomically; formats that nest their weights are refused, naming the format."""

import os

import pytest
import timm
import torch
from safetensors.torch import load_file

from mae_plugin.checkpoints import (
    CorruptCheckpointError,
    atomic,
    load_checkpoint_file,
    load_mae_weights,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.checkpoints.hf_helpers import tiny_mae
from tests.conftest import save_plugin_checkpoint


@pytest.fixture
def src(tmp_path):
    return save_plugin_checkpoint(tiny_mae(), tmp_path / 'src.pth')


def test_timm_safetensors_loads_strict_into_timm_with_the_same_features(tmp_path, src):
    convert_checkpoint(src, tmp_path / 'vit.safetensors', 'timm')
    with open(tmp_path / 'vit.safetensors', 'rb') as f:
        assert not f.read(16).startswith(b'PK')  # a safetensors header, not a torch zip
    vit = timm.create_model(
        'vit_tiny_patch16_224',
        pretrained=False,
        num_classes=0,
        img_size=32,
        patch_size=8,
        embed_dim=48,
        depth=2,
        num_heads=3,
    ).eval()
    vit.load_state_dict(load_file(tmp_path / 'vit.safetensors'), strict=True)
    images = torch.randn(2, 3, 32, 32)
    mae = tiny_mae()
    with torch.no_grad():
        assert torch.equal(vit.forward_features(images), mae.encoder(images))
    report = load_mae_weights(tiny_mae(seed=7), tmp_path / 'vit.safetensors')
    assert report.format == 'timm' and report.left_new  # encoder only: decoder stays fresh


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


@pytest.mark.parametrize('fmt, nested', [('plugin', 'state_dict'), ('official', 'model')])
def test_nested_formats_are_refused_as_safetensors_naming_the_format(tmp_path, src, fmt, nested):
    with pytest.raises(
        ValueError,
        match=rf"the '{fmt}' format cannot be stored as safetensors "
        rf".*'{nested}'.*write a \.pth file",
    ):
        convert_checkpoint(src, tmp_path / 'out.safetensors', fmt)
    assert sorted(os.listdir(tmp_path)) == ['src.pth']  # nothing written, no partial file


def test_a_truncated_safetensors_file_is_named_as_corrupt(tmp_path, src):
    convert_checkpoint(src, tmp_path / 'vit.safetensors', 'timm')
    data = (tmp_path / 'vit.safetensors').read_bytes()
    (tmp_path / 'cut.safetensors').write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match="'.*cut.safetensors': truncated"):
        load_checkpoint_file(tmp_path / 'cut.safetensors')


def _failing_fsync(fd):
    raise OSError('no space left on device (simulated)')


def test_a_failed_safetensors_write_leaves_the_destination_untouched(tmp_path, src, monkeypatch):
    dst = tmp_path / 'vit.safetensors'
    dst.write_bytes(b'the previous conversion')
    monkeypatch.setattr(atomic.os, 'fsync', _failing_fsync)
    with pytest.raises(OSError, match='simulated'):
        convert_checkpoint(src, dst, 'timm')
    assert dst.read_bytes() == b'the previous conversion'
    assert sorted(os.listdir(tmp_path)) == ['src.pth', 'vit.safetensors']


def test_a_folder_write_cut_short_is_refused_on_read_not_mixed(tmp_path, src, monkeypatch):
    options = dict(norm_pix=True, num_heads=3, decoder_num_heads=2)
    convert_checkpoint(src, tmp_path / 'hf', 'hf', **options)
    old_weights = (tmp_path / 'hf' / 'model.safetensors').read_bytes()
    other = save_plugin_checkpoint(tiny_mae(seed=3), tmp_path / 'other.pth')
    monkeypatch.setattr(atomic.os, 'fsync', _failing_fsync)
    with pytest.raises(OSError, match='simulated'):
        convert_checkpoint(other, tmp_path / 'hf', 'hf', **options)
    monkeypatch.undo()
    assert (tmp_path / 'hf' / 'model.safetensors').read_bytes() == old_weights
    with pytest.raises(FileNotFoundError, match='without config.json'):
        load_checkpoint_file(tmp_path / 'hf')
    convert_checkpoint(other, tmp_path / 'hf', 'hf', **options)  # a complete write reads again
    assert load_mae_weights(tiny_mae(), tmp_path / 'hf').format == 'hf'
