"""Optimizers of the evaluation recipes: the layer-decay constructor (fine-tuning, detection,
segmentation) and LARS (linear probing)."""
from .lars import build_lars
from .layer_decay import MAELayerDecayOptimWrapperConstructor

__all__ = ['build_lars', 'MAELayerDecayOptimWrapperConstructor']
