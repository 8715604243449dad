"""One entry to the container readers: the path says which."""

from __future__ import annotations

import os
from typing import Any

from .hf_folder import read_hf_folder
from .safetensors_file import SAFETENSORS, read_safetensors_file
from .torch_file import read_torch_file


def load_checkpoint_file(path: str | os.PathLike) -> dict[str, Any]:
    """The plain dict a checkpoint path holds, read without running anything from it.

    A folder is read as a Hugging Face folder (``hf_folder.py``), a ``.safetensors`` file with
    ``safetensors`` (a flat dict of tensors), anything else as a torch file with
    ``weights_only=True`` (``torch_file.py``, whose errors tell a corrupt file from an unsafe
    one).

    Raises:
        FileNotFoundError: nothing at ``path``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return read_hf_folder(path)
    if path.endswith(SAFETENSORS):
        return read_safetensors_file(path)
    return read_torch_file(path)
