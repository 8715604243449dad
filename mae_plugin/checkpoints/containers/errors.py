"""The two ways a checkpoint file can fail to be read.

They are told apart because they call for different actions: re-download a damaged file; never
load one that could run code.
"""

from __future__ import annotations

import pickle


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The file's pickle asks for a global outside torch's ``weights_only`` allow-list."""


class CorruptCheckpointError(ValueError):
    """The file is truncated, damaged or not a checkpoint of its kind at all."""
