"""The paper's evaluations on MMEngine: fine-tuning, partial fine-tuning, linear probing.

``MAEClassifier`` + ``MAEClsDataPreprocessor``, the evaluation and RandAugment transforms, and
the ``MAEAccuracy`` metric. The dataset and the crop/flip transforms are pretraining's.
"""

from .metric import MAEAccuracy
from .model import MAEClassifier, MAEClsDataPreprocessor
from .transforms import MAECenterCrop, MAERandAugment, MAEResize

__all__ = [
    'MAEAccuracy',
    'MAEClassifier',
    'MAEClsDataPreprocessor',
    'MAECenterCrop',
    'MAERandAugment',
    'MAEResize',
]
