"""A ``.safetensors`` file: a flat dict of tensors behind a JSON header, nothing to run."""

from __future__ import annotations

import os

from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor

from ...fileio import atomic_write_bytes
from .errors import CorruptCheckpointError

SAFETENSORS = '.safetensors'


def read_safetensors_file(path: str) -> dict[str, Tensor]:
    """``safetensors.torch.load_file`` on the CPU.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CorruptCheckpointError: truncated or not a safetensors file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        return load_file(path, device='cpu')
    except SafetensorError as err:
        raise CorruptCheckpointError(
            f'cannot read safetensors file {path!r}: truncated or not a safetensors file ({err})'
        ) from None


def safetensors_bytes(tensors: dict[str, Tensor]) -> bytes:
    """The safetensors serialisation of the flat dict ``tensors`` (contiguous where needed)."""
    return save({k: v.contiguous() for k, v in tensors.items()}, metadata={'format': 'pt'})


def write_safetensors_file(tensors: dict[str, Tensor], path: str) -> None:
    """Write the flat dict ``tensors`` to ``path`` atomically."""
    atomic_write_bytes(safetensors_bytes(tensors), path)
