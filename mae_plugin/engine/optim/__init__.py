"""Optimizers of the evaluation recipes: layer-wise lr decay and LARS.

The layer-decay constructor serves fine-tuning, detection and segmentation; LARS linear
probing.
"""

from .lars import build_lars
from .layer_decay import MAELayerDecayOptimWrapperConstructor

__all__ = ['build_lars', 'MAELayerDecayOptimWrapperConstructor']
