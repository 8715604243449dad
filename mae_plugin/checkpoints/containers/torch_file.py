"""Read a torch checkpoint file without ever running code from it.

A file that is not a readable torch checkpoint (truncated download, empty or text file, some
other zip) raises :class:`CorruptCheckpointError`; a well-formed pickle that asks for objects
beyond torch's ``weights_only`` allow-list (it could run code) raises
:class:`UnsafeCheckpointError`. To know which, the pickle stream is first walked opcode by
opcode with ``pickletools.dis``, which parses and builds nothing; only a stream that parses
whole can be "unsafe".
"""

from __future__ import annotations

import argparse
import os
import pickle
import pickletools
import zipfile
from typing import IO, Any

import torch

from .errors import CorruptCheckpointError, UnsafeCheckpointError

# Official MAE training checkpoints store their command line as an argparse.Namespace: a plain
# attribute holder whose unpickling runs no code, allowed for our own reads only (scoped).
_EXTRA_SAFE = [argparse.Namespace]
_ZIP_MAGIC = b'PK\x03\x04'
# torch's legacy (pre-1.6) format starts with its magic number pickled at protocol 2
_LEGACY_MAGIC = b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.'
_LEGACY_PICKLES = 4  # magic number, protocol version, sys info, the object; then raw storages


class _Discard:
    """A text sink: ``pickletools.dis`` is run for its checks, not its listing."""

    def write(self, text: str) -> None:
        pass


def _walk_pickles(stream: IO[bytes], count: int) -> None:
    """Check ``count`` consecutive pickles of ``stream`` opcode by opcode, building nothing.

    Stack and memo are checked too; ValueError/EOFError where the pickles are malformed.
    """
    for _ in range(count):
        pickletools.dis(stream, out=_Discard())


def _corrupt(path: str, what: str) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'cannot read checkpoint {path!r}: truncated or not a torch '
        f'checkpoint ({what}). Nothing from it was executed.'
    )


def _check_structure(path: str) -> None:
    """Raise CorruptCheckpointError unless ``path`` is a complete torch zip or legacy file."""
    with open(path, 'rb') as f:
        head = f.read(len(_LEGACY_MAGIC))
    if not head:
        raise _corrupt(path, 'the file is empty')
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                pickles = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
                if len(pickles) == 1:
                    with archive.open(pickles[0]) as stream:
                        _walk_pickles(stream, 1)
        except (zipfile.BadZipFile, ValueError, EOFError) as err:
            raise _corrupt(path, f'damaged zip archive: {err}') from None
        if len(pickles) != 1:
            raise _corrupt(
                path,
                f'a zip archive without the one <folder>/data.pkl torch writes; its '
                f'entries begin {names[:5]}',
            )
    elif head == _LEGACY_MAGIC:
        try:
            with open(path, 'rb') as stream:
                _walk_pickles(stream, _LEGACY_PICKLES)
        except (ValueError, EOFError) as err:
            raise _corrupt(path, f'damaged legacy torch file: {err}') from None
    else:
        raise _corrupt(
            path, f"neither torch's zip format nor its legacy one; it starts with {head[:8]!r}"
        )


def read_torch_file(path: str) -> dict[str, Any]:
    """``torch.load(path, map_location='cpu', weights_only=True)`` with errors that name the file.

    Returns:
        The dict the file holds (tensors, containers and plain values only).

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CorruptCheckpointError: not a complete torch checkpoint.
        UnsafeCheckpointError: the pickle would import or call anything beyond tensors and
            builtins; raised before a single object of it is built, so nothing in it runs.
        ValueError: the file holds something other than a dict.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    _check_structure(path)
    try:
        with torch.serialization.safe_globals(_EXTRA_SAFE):
            checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:  # the stream parsed whole: the allow-list refused it
        raise UnsafeCheckpointError(
            f'refused to load {path!r}: its pickle needs objects that weights_only loading does '
            f'not allow, so it could run code. Nothing from it was executed. Detail: {err}'
        ) from None
    except (RuntimeError, OSError, EOFError) as err:  # tensor data cut short or damaged
        raise _corrupt(path, str(err)) from None
    if not isinstance(checkpoint, dict):
        raise ValueError(
            f'checkpoint {path!r} holds a {type(checkpoint).__name__}, expected a dict of tensors'
        )
    return checkpoint
