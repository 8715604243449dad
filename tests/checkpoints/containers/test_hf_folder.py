"""A Hugging Face folder: config.json beside the weights (one file, shards or a .bin), written
config last; what is missing is an error naming the folder or file."""

import json
import os
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from mae_plugin import fileio
from mae_plugin.checkpoints import (
    CorruptCheckpointError,
    load_checkpoint_file,
    load_mae_weights,
    to_core,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import failing_fsync, save_plugin_checkpoint
from tests.helpers.hf import hf_saved_folder, random_mae, tiny_hf_folder


@pytest.fixture
def folder(tmp_path):
    return tiny_hf_folder(tmp_path)


@pytest.fixture
def src(tmp_path):
    return save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')


def test_a_folder_without_config_json_is_an_error_naming_it(folder):
    os.remove(folder / 'config.json')
    with pytest.raises(FileNotFoundError, match=f"'{folder}' is a folder without config.json"):
        load_checkpoint_file(folder)


@pytest.mark.parametrize('layout', ['sharded', 'pytorch_model.bin'])
def test_sharded_and_bin_folders_read_the_same_tensors(tmp_path, layout):
    hf, folder = hf_saved_folder(tmp_path)
    other = tmp_path / 'other'
    if layout == 'sharded':
        hf.save_pretrained(other, max_shard_size='50KB')  # transformers' own shards
        assert (other / 'model.safetensors.index.json').exists()
    else:
        other.mkdir()
        shutil.copy(os.path.join(folder, 'config.json'), other)
        torch.save(
            load_file(os.path.join(folder, 'model.safetensors')), other / 'pytorch_model.bin'
        )
    expected = to_core(load_checkpoint_file(folder)).state
    got = to_core(load_checkpoint_file(other)).state
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    if layout == 'sharded':  # an index that lists a key no shard holds is an error
        index = json.loads((other / 'model.safetensors.index.json').read_text())
        index['weight_map']['vit.extra'] = next(iter(index['weight_map'].values()))
        (other / 'model.safetensors.index.json').write_text(json.dumps(index))
        with pytest.raises(CorruptCheckpointError, match=r"no shard holds: \['vit.extra"):
            load_checkpoint_file(other)


def test_a_folder_write_cut_short_is_refused_on_read_not_mixed(tmp_path, src, monkeypatch):
    options = dict(norm_pix=True, num_heads=3, decoder_num_heads=2)
    convert_checkpoint(src, tmp_path / 'hf', 'hf', **options)
    old_weights = (tmp_path / 'hf' / 'model.safetensors').read_bytes()
    other = save_plugin_checkpoint(random_mae(seed=3), tmp_path / 'other.pth')
    monkeypatch.setattr(fileio.os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated'):
        convert_checkpoint(other, tmp_path / 'hf', 'hf', **options)
    monkeypatch.undo()
    assert (tmp_path / 'hf' / 'model.safetensors').read_bytes() == old_weights
    with pytest.raises(FileNotFoundError, match='without config.json'):
        load_checkpoint_file(tmp_path / 'hf')
    convert_checkpoint(other, tmp_path / 'hf', 'hf', **options)  # a complete write reads again
    assert load_mae_weights(random_mae(), tmp_path / 'hf').format == 'hf'


def test_a_folder_reads_to_a_plain_dict_naming_its_files_and_converts_nothing(folder):
    config = json.loads((folder / 'config.json').read_text())
    (folder / 'config.json').write_text(json.dumps({**config, 'hidden_size': 64}))
    ckpt = load_checkpoint_file(folder)  # the disagreement is the hf format's to find
    assert ckpt['config']['hidden_size'] == 64
    assert ckpt['files'] == {
        'config': str(folder / 'config.json'),
        'weights': str(folder / 'model.safetensors'),
    }
    assert ckpt['state_dict'].keys() == load_file(folder / 'model.safetensors').keys()
    with pytest.raises(ValueError, match='hidden_size = 64'):
        to_core(ckpt)


def test_a_folder_holding_another_model_is_an_error_naming_its_weights(folder):
    timm_weights = {'patch_embed.proj.weight': torch.zeros(4, 3, 8, 8)}
    save_file(timm_weights, folder / 'model.safetensors')
    with pytest.raises(ValueError, match=r"model.safetensors' is not in the Hugging Face ViTMAE"):
        load_checkpoint_file(folder)


def test_a_folder_is_not_written_over_a_file_or_beside_other_weights(tmp_path, src):
    options = dict(norm_pix=True, num_heads=3, decoder_num_heads=4)
    (tmp_path / 'file').write_bytes(b'x')
    with pytest.raises(ValueError, match="'.*file' exists and is not a folder"):
        convert_checkpoint(src, tmp_path / 'file', 'hf', **options)
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'pytorch_model.bin').write_bytes(b'x')
    with pytest.raises(ValueError, match=r"already holds weights \['pytorch_model.bin'\]"):
        convert_checkpoint(src, tmp_path / 'old', 'hf', **options)
    assert sorted(os.listdir(tmp_path / 'old')) == ['pytorch_model.bin']
