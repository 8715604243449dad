"""The pretraining transforms of ``mae_plugin.data``, registered as they are.

Same class, same name: ``type='MAERandomResizedCrop'`` builds
``mae_plugin.data.MAERandomResizedCrop``.
"""

from ...data.transforms import (
    MAELoadImage,
    MAELoadRandomResizedCrop,
    MAEMaskGenerator,
    MAEPackInputs,
    MAERandomFlip,
    MAERandomResizedCrop,
)
from ..registry import TRANSFORMS

for _transform in (
    MAELoadImage,
    MAELoadRandomResizedCrop,
    MAERandomResizedCrop,
    MAERandomFlip,
    MAEMaskGenerator,
    MAEPackInputs,
):
    TRANSFORMS.register_module(module=_transform)
