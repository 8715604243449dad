"""MAE pretraining on MMEngine: ``MAEPretrainModel`` + ``MAEDataPreprocessor``, the pipeline
transforms of ``mae_plugin.data`` registered by name, and the ``MAEImageFolder`` dataset
(classification reuses the transforms and the dataset)."""
from .dataset import MAEImageFolder
from .model import MAEDataPreprocessor, MAEPretrainModel
from .transforms import (MAELoadImage, MAEMaskGenerator, MAEPackInputs, MAERandomFlip,
                         MAERandomResizedCrop)

__all__ = ['MAEImageFolder', 'MAEDataPreprocessor', 'MAEPretrainModel', 'MAELoadImage',
           'MAEMaskGenerator', 'MAEPackInputs', 'MAERandomFlip', 'MAERandomResizedCrop']
