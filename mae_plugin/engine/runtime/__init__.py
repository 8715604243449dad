"""Running on MMEngine 0.10.7: ``MAERunner``, ``MAEFlexibleRunner`` and the shims.

Each shim fills a gap of that version:

- ``runner.py``: ``MAERunner`` (lr rule with gradient accumulation; strict, code-free loading);
- ``flexible_runner.py``: ``MAEFlexibleRunner``, the same rules under FlexibleRunner;
- ``runner_rules.py``: what both runners share (lr rule, dropping config text unread);
- ``strategy.py``, ``sharded_checkpoint.py``: ``MAEFSDP2Strategy`` (FSDP2 sharding, sharded and
  consolidated checkpoints);
- ``launch.py``: what ``tools/train.py`` and ``tools/test.py`` do, importable and testable;
- ``distributed.py``: DDP on CPU-only machines (MMEngine's launcher assumes CUDA);
- ``amp.py``: autocast on any device, bf16 where it has it, under the non-finite rule (MMEngine's
  ``AmpOptimWrapper`` asserts a GPU, runs fp16 and skips uncounted).

``FiniteOptimWrapper``, exported here, lives with the rest of the non-finite guard in
``engine/nonfinite.py``.
"""

from ..nonfinite import FiniteOptimWrapper
from .amp import CPUAmpOptimWrapper, MAEAmpOptimWrapper
from .distributed import CPUDistributedDataParallel
from .flexible_runner import MAEFlexibleRunner
from .runner import MAERunner
from .strategy import MAEFSDP2Strategy

__all__ = [
    'CPUAmpOptimWrapper',
    'CPUDistributedDataParallel',
    'FiniteOptimWrapper',
    'MAEAmpOptimWrapper',
    'MAEFSDP2Strategy',
    'MAEFlexibleRunner',
    'MAERunner',
]
