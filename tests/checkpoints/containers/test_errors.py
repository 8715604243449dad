"""The two ways a checkpoint file fails to be read (``containers/errors.py``): an unsafe pickle
is what torch's own ``weights_only`` refusal is (a ``pickle.UnpicklingError``), a corrupt file a
``ValueError``, and neither is the other."""

import os
import pickle

import pytest
import torch

from mae_plugin.checkpoints.containers.errors import CorruptCheckpointError, UnsafeCheckpointError
from mae_plugin.checkpoints.containers.read import load_checkpoint_file


class _CallsGetcwd:
    """Unpickling this calls ``os.getcwd()``: harmless, but outside the allow-list."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_an_unsafe_file_fails_as_torch_itself_fails_it_and_a_corrupt_one_as_a_value_error(
    tmp_path,
):
    path = tmp_path / 'unsafe.pth'
    torch.save({'x': _CallsGetcwd()}, path)
    with pytest.raises(pickle.UnpicklingError) as torch_error:  # the reference: torch's refusal
        torch.load(path, weights_only=True)
    assert not isinstance(torch_error.value, UnsafeCheckpointError)
    with pytest.raises(type(torch_error.value)) as ours:  # a caller written for torch catches ours
        load_checkpoint_file(path)
    assert isinstance(ours.value, UnsafeCheckpointError)
    assert not isinstance(ours.value, ValueError)
    (tmp_path / 'cut.pth').write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError) as corrupt:
        load_checkpoint_file(tmp_path / 'cut.pth')
    assert isinstance(corrupt.value, CorruptCheckpointError)
    assert not isinstance(corrupt.value, pickle.UnpicklingError)


def test_neither_error_is_the_other():
    assert not issubclass(UnsafeCheckpointError, CorruptCheckpointError)
    assert not issubclass(CorruptCheckpointError, UnsafeCheckpointError)
    assert not issubclass(CorruptCheckpointError, pickle.UnpicklingError)
