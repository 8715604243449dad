"""The plugin's MMEngine hooks, by concern.

- checkpoint safety: ``AtomicCheckpointHook`` and ``FiniteWeightsHook`` (``checkpoint.py``),
  ``WeightsOnlyResumeHook`` and ``ResumeScheduleGuardHook`` (``resume.py``);
- checkpoint contents: ``MAEModelMetaHook`` (``model_meta.py``);
- data: ``CorruptImageCounterHook`` (``data.py``), ``ShardStreamStateHook`` (``shards.py``);
- monitoring: ``ReconstructionVisHook`` (``reconstruction.py``), ``KNNMonitorHook`` (``knn.py``).
"""

from .checkpoint import AtomicCheckpointHook, FiniteWeightsHook
from .data import CorruptImageCounterHook
from .knn import KNNMonitorHook
from .model_meta import MAEModelMetaHook
from .reconstruction import ReconstructionVisHook
from .resume import ResumeScheduleGuardHook, WeightsOnlyResumeHook
from .shards import ShardStreamStateHook

__all__ = [
    'AtomicCheckpointHook',
    'FiniteWeightsHook',
    'CorruptImageCounterHook',
    'KNNMonitorHook',
    'MAEModelMetaHook',
    'ReconstructionVisHook',
    'ResumeScheduleGuardHook',
    'ShardStreamStateHook',
    'WeightsOnlyResumeHook',
]
