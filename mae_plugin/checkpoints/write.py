"""Write a converted checkpoint to the container its destination names, atomically."""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor

from ..fileio import atomic_torch_save
from .containers.hf_folder import write_hf_folder
from .containers.safetensors_file import SAFETENSORS, write_safetensors_file
from .formats import hf

FILE_SUFFIXES = (SAFETENSORS, '.pth', '.pt', '.bin')  # --to hf: a file of weights, not a folder


def hf_writes_folder(dst: str | os.PathLike) -> bool:
    """Whether ``--to hf`` writes a folder at ``dst`` (any name but a weights file's)."""
    return not os.fspath(dst).endswith(FILE_SUFFIXES)


def write_checkpoint(
    obj: dict[str, Any], dst: str | os.PathLike, fmt: str, config: dict[str, Any] | None = None
) -> None:
    """Write ``obj`` (format ``fmt``) to ``dst``, each file atomically.

    Safetensors when ``dst`` ends with ``.safetensors``; a Hugging Face folder for
    ``fmt == 'hf'`` unless ``dst`` names a weights file (``config`` is its config.json); else
    a torch file.

    Raises:
        ValueError: ``obj`` is not a flat dict of tensors but ``dst`` is a safetensors file;
            a folder without its config; a folder destination that is a file or already
            holds other weights.
    """
    dst = os.fspath(dst)
    if dst.endswith(SAFETENSORS):
        nested = sorted(k for k, v in obj.items() if not isinstance(v, Tensor))
        if nested:
            raise ValueError(
                f'the {fmt!r} format cannot be stored as safetensors ({dst!r}): '
                f'it keeps {nested[:4]} beside or around the weights, and '
                'safetensors holds a flat dict of tensors only; write a .pth file'
            )
        write_safetensors_file(obj, dst)
    elif fmt == hf.NAME and hf_writes_folder(dst):
        if config is None:
            raise ValueError('a Hugging Face folder needs its config.json')
        write_hf_folder(obj, dst, config)
    else:
        atomic_torch_save(obj, dst)
