"""Read checkpoint files without ever running code from them."""
from __future__ import annotations

import argparse
import os
import pickle
from typing import Any

import torch

# Official MAE training checkpoints store their command line as an argparse.Namespace: a plain
# attribute holder whose unpickling runs no code, allowed for our own reads only (scoped).
_EXTRA_SAFE = [argparse.Namespace]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The file's pickle asks for a global outside torch's ``weights_only`` allow-list."""


def load_checkpoint_file(path: str | os.PathLike) -> dict[str, Any]:
    """``torch.load(path, map_location='cpu', weights_only=True)`` with errors that name the file.

    A pickle that would import or call anything beyond tensors and builtins is refused before a
    single object of it is built, so nothing in it runs.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        with torch.serialization.safe_globals(_EXTRA_SAFE):
            checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refused to load {path!r}: its pickle needs objects that weights_only loading does '
            f'not allow, so it could run code. Nothing from it was executed. Detail: {err}'
        ) from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f'checkpoint {path!r} holds a {type(checkpoint).__name__}, '
                         'expected a dict of tensors')
    return checkpoint
