"""Training rules both runner adapters apply, written once (torch only, no runner).

- ``nonfinite.py``: a non-finite loss or gradient skips the update on the device, is counted,
  and ``max_consecutive_skips`` in a row stop every rank, naming the steps.
- ``lr.py``: lr = base_lr x (batch x processes x accumulation) / 256.
- ``precision.py``: which autocast dtype ``--amp`` runs on a device.
- ``ranks.py``: an error one rank finds stops every rank with its message.
"""

from .lr import BASE_BATCH, effective_batch_size, scaled_lr
from .nonfinite import SkipCounter, apply_skip, arm_skip, disarm, non_finite_flag
from .precision import amp_dtype
from .ranks import agree_or_raise, every_rank_agrees, on_every_rank

__all__ = [
    'BASE_BATCH',
    'SkipCounter',
    'agree_or_raise',
    'amp_dtype',
    'apply_skip',
    'arm_skip',
    'disarm',
    'effective_batch_size',
    'every_rank_agrees',
    'non_finite_flag',
    'on_every_rank',
    'scaled_lr',
]
