"""A torch file (``containers/torch_file.py``): a damaged file and a code-running pickle are
different errors."""

import os
import random
import zipfile

import pytest
import torch

from mae_plugin.checkpoints import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    load_checkpoint_file,
)
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.models import tiny_mae


class _RunsShell:
    """Unpickling this calls ``os.system(command)``: what a malicious checkpoint does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def good(tmp_path):
    torch.manual_seed(0)
    mae = tiny_mae()
    return save_plugin_checkpoint(mae, tmp_path / 'good.pth'), mae.state_dict()


def _corrupt(path):
    with pytest.raises(CorruptCheckpointError) as err:
        load_checkpoint_file(path)
    assert not isinstance(err.value, UnsafeCheckpointError)
    text = str(err.value)
    assert repr(str(path)) in text and 'truncated or not a torch checkpoint' in text
    assert 'could run code' not in text
    return text


@pytest.mark.parametrize('legacy', [False, True])
def test_a_truncated_checkpoint_is_corrupt_not_unsafe(tmp_path, good, legacy):
    path, state = good
    if legacy:  # torch's pre-1.6 format, still readable
        torch.save(load_checkpoint_file(path), path, _use_new_zipfile_serialization=False)
    loaded = load_checkpoint_file(path)['state_dict']  # complete, it loads exactly
    assert loaded.keys() == {'mae.' + k for k in state}
    assert all(torch.equal(loaded['mae.' + k], v) for k, v in state.items())
    data = open(path, 'rb').read()
    half = tmp_path / 'half.pth'
    half.write_bytes(data[: len(data) // 2])
    _corrupt(half)
    with pytest.raises(CorruptCheckpointError, match='half.pth'):
        convert_checkpoint(half, tmp_path / 'out.pth', 'timm')
    assert not (tmp_path / 'out.pth').exists()


def test_random_bytes_empty_and_text_files_are_corrupt(tmp_path):
    cases = {
        'random.pth': random.Random(0).randbytes(4096),
        'empty.pth': b'',
        'notes.pth': b'epoch: 3\nloss: 0.41\n',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert 'the file is empty' in _corrupt(tmp_path / 'empty.pth')
    _corrupt(tmp_path / 'random.pth')
    assert "b'epoch: 3'" in _corrupt(tmp_path / 'notes.pth')


def test_a_zip_that_is_not_a_torch_checkpoint_is_corrupt(tmp_path):
    with zipfile.ZipFile(tmp_path / 'photos.pth', 'w') as archive:
        archive.writestr('photos/cat.jpg', b'\xff\xd8\xff')
    assert 'photos/cat.jpg' in _corrupt(tmp_path / 'photos.pth')
    with zipfile.ZipFile(tmp_path / 'garbled.pth', 'w') as archive:  # torch's layout, bad pickle
        archive.writestr('garbled/data.pkl', b'\x80\x02}q\x00(X\x05\x00')
        archive.writestr('garbled/version', b'3\n')
    _corrupt(tmp_path / 'garbled.pth')


@pytest.mark.parametrize('legacy', [False, True])
def test_a_code_running_pickle_is_unsafe_and_never_runs(tmp_path, monkeypatch, legacy):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / 'MARKER'
    path = tmp_path / 'evil.pth'
    torch.save(
        {'state_dict': {'mae.x': _RunsShell(f'touch {marker}')}},
        path,
        _use_new_zipfile_serialization=not legacy,
    )
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(path)
    assert not isinstance(err.value, CorruptCheckpointError)
    assert 'evil.pth' in str(err.value) and 'Nothing from it was executed' in str(err.value)
    assert 'truncated' not in str(err.value)
    with pytest.raises(UnsafeCheckpointError):
        convert_checkpoint(path, tmp_path / 'out.pth', 'timm')
    # the same file cut short is damaged, and says so instead
    short = tmp_path / 'evil_short.pth'
    short.write_bytes(path.read_bytes()[:30])
    _corrupt(short)
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()
