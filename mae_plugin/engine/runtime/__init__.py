"""Running on MMEngine 0.10.7: ``MAERunner`` and the shims, each for a gap of that version.

- ``runner.py``: ``MAERunner`` (lr rule with gradient accumulation; strict, code-free loading);
- ``launch.py``: what ``tools/train.py`` and ``tools/test.py`` do, importable and testable;
- ``distributed.py``: DDP on CPU-only machines (MMEngine's launcher assumes CUDA);
- ``amp.py``: bf16 autocast on the CPU (MMEngine's ``AmpOptimWrapper`` asserts a GPU);
- ``finite_step.py``: non-finite steps skipped on the device, counted, a run of them stops.
"""

from .amp import CPUAmpOptimWrapper
from .distributed import CPUDistributedDataParallel
from .finite_step import FiniteOptimWrapper
from .runner import MAERunner

__all__ = ['CPUAmpOptimWrapper', 'CPUDistributedDataParallel', 'FiniteOptimWrapper', 'MAERunner']
