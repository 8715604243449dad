"""Checkpoint formats, safe loading, conversion and position-table resampling (pure torch)."""

from .atomic import atomic_torch_save, atomic_write_text
from .core import Conversion, UnknownKeyError
from .files import read_hf_folder, write_checkpoint
from .formats import FORMATS, WRITABLE, detect_format, from_core, to_core
from .load import LoadReport, load_encoder_weights, load_mae_weights, read_checkpoint
from .safe_load import CorruptCheckpointError, UnsafeCheckpointError, load_checkpoint_file

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
