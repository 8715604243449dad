"""The one entry to the container readers (``containers/read.py``): a folder is read as a Hugging
Face folder, a ``.safetensors`` file with safetensors, anything else as a torch file; each gives
back what safetensors' and torch's own writers put in, and nothing at the path is an error
naming it."""

import json

import pytest
import torch
from safetensors.torch import save_file

from mae_plugin.checkpoints.containers.errors import CorruptCheckpointError
from mae_plugin.checkpoints.containers.read import load_checkpoint_file

TENSORS = {
    'patch_embed.proj.weight': torch.arange(24.0).view(2, 3, 2, 2),
    'cls_token': torch.ones(1),
}


def assert_same(got, expected):
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


@pytest.mark.parametrize('name', ['w.pth', 'w.ckpt', 'w.bin', 'weights'])
def test_any_other_name_is_read_as_a_torch_file(tmp_path, name):
    ckpt = {'state_dict': TENSORS, 'epoch': 3}
    torch.save(ckpt, tmp_path / name)
    got = load_checkpoint_file(tmp_path / name)
    assert got['epoch'] == 3
    assert_same(got['state_dict'], TENSORS)


def test_a_safetensors_file_is_read_with_safetensors(tmp_path):
    save_file(TENSORS, tmp_path / 'w.safetensors')
    assert_same(load_checkpoint_file(str(tmp_path / 'w.safetensors')), TENSORS)


def test_the_suffix_picks_the_reader_not_the_content(tmp_path):
    torch.save(TENSORS, tmp_path / 'torch.safetensors')
    with pytest.raises(CorruptCheckpointError, match='not a safetensors file'):
        load_checkpoint_file(tmp_path / 'torch.safetensors')
    save_file(TENSORS, tmp_path / 'safetensors.pth')
    with pytest.raises(CorruptCheckpointError, match='not a torch checkpoint'):
        load_checkpoint_file(tmp_path / 'safetensors.pth')


def test_a_folder_is_read_as_a_hugging_face_folder(tmp_path):
    weights = {'vit.embeddings.patch_embeddings.projection.weight': torch.ones(4, 3, 2, 2)}
    (tmp_path / 'hf').mkdir()
    save_file(weights, tmp_path / 'hf' / 'model.safetensors')
    (tmp_path / 'hf' / 'config.json').write_text(json.dumps({'model_type': 'vit_mae'}))
    got = load_checkpoint_file(tmp_path / 'hf')
    assert got['config'] == {'model_type': 'vit_mae'}
    assert_same(got['state_dict'], weights)


@pytest.mark.parametrize('name', ['nope.pth', 'nope.safetensors'])
def test_nothing_at_the_path_is_an_error_naming_it(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=f"checkpoint '.*{name}' does not exist"):
        load_checkpoint_file(tmp_path / name)
