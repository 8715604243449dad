"""Checkpoint formats, safe loading, conversion and position-table resampling (pure torch).

A read is one straight line, each module visited once: ``containers/`` (a file or folder to a
plain dict, nothing run) -> ``detect.py`` (which format) -> ``formats/<name>.py`` (to core
keys, ``formats/contract.py``) -> ``resample.py`` (position tables to the model's grid) ->
``load.py`` (strict copy and report). ``convert.py`` goes on from core keys to another format
and ``write.py``. Atomic writing is below every layer, in ``mae_plugin/fileio.py``.
"""

from ..fileio import atomic_torch_save, atomic_write_text
from .containers.errors import CorruptCheckpointError, UnsafeCheckpointError
from .containers.hf_folder import read_hf_folder
from .containers.read import load_checkpoint_file
from .core import Conversion, UnknownKeyError
from .detect import FORMATS, WRITABLE, detect_format, from_core, to_core
from .load import LoadReport, load_encoder_weights, load_mae_weights, read_checkpoint
from .write import write_checkpoint

__all__ = [
    'atomic_torch_save',
    'atomic_write_text',
    'Conversion',
    'UnknownKeyError',
    'FORMATS',
    'WRITABLE',
    'detect_format',
    'from_core',
    'to_core',
    'LoadReport',
    'load_encoder_weights',
    'load_mae_weights',
    'read_checkpoint',
    'CorruptCheckpointError',
    'UnsafeCheckpointError',
    'load_checkpoint_file',
    'read_hf_folder',
    'write_checkpoint',
]
