"""MAE pretraining on MMEngine: the model, its data preprocessor, datasets and transforms.

``MAEPretrainModel`` + ``MAEDataPreprocessor``, the ``MAEImageFolder`` dataset, the tar-shard
stream (``MAEShardStream`` and its loop), and the pipeline transforms of ``mae_plugin.data``
registered by name (``transforms.py``). Classification reuses the transforms and the dataset.
"""

from . import transforms  # noqa: F401  (registers mae_plugin.data's transforms)
from .dataset import MAEImageFolder
from .model import MAEDataPreprocessor, MAEPretrainModel
from .shards import MAEShardStream, ShardStreamTrainLoop

__all__ = [
    'MAEImageFolder',
    'MAEDataPreprocessor',
    'MAEPretrainModel',
    'MAEShardStream',
    'ShardStreamTrainLoop',
]
