"""The pretraining transforms of ``mae_plugin.data``, registered as they are (same class, same
name): ``type='MAERandomResizedCrop'`` builds ``mae_plugin.data.MAERandomResizedCrop``."""
from ...data.transforms import (MAELoadImage, MAEMaskGenerator, MAEPackInputs, MAERandomFlip,
                                MAERandomResizedCrop)
from ..registry import TRANSFORMS

for _transform in (MAELoadImage, MAERandomResizedCrop, MAERandomFlip, MAEMaskGenerator,
                   MAEPackInputs):
    TRANSFORMS.register_module(module=_transform)
