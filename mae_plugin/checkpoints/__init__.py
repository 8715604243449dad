"""Checkpoint formats, safe loading and conversion (pure torch)."""
from .formats import core_to_official, detect_format, official_to_core, to_core
from .load import LoadReport, load_mae_weights
from .safe_load import UnsafeCheckpointError, load_checkpoint_file

__all__ = ['core_to_official', 'detect_format', 'official_to_core', 'to_core', 'LoadReport',
           'load_mae_weights', 'UnsafeCheckpointError', 'load_checkpoint_file']
