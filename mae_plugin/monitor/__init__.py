"""Monitoring, runner-free: torch, numpy and PIL; no MMEngine, no Lightning.

The kNN probe of the encoder's features, the fixed images the monitors read, and the
reconstruction pictures with their layout. The MMEngine hooks (``engine/hooks/knn.py``,
``reconstruction.py``) and the Lightning callbacks (``lightning/callbacks.py``) decide when to
measure and where to log; they call this package for the measurement itself.
"""

from .knn import KNNProbe, weighted_knn_predict, weighted_knn_top1
from .layout import RECONSTRUCTION_COLUMNS, labelled_grid, upscale_factor
from .panels import draw_reconstructions, reconstruction_panels, to_uint8_grid
from .views import LOOK_AHEAD, picture_batch, read_fixed_views, read_labelled_split

__all__ = [
    'KNNProbe',
    'weighted_knn_predict',
    'weighted_knn_top1',
    'RECONSTRUCTION_COLUMNS',
    'labelled_grid',
    'upscale_factor',
    'draw_reconstructions',
    'reconstruction_panels',
    'to_uint8_grid',
    'LOOK_AHEAD',
    'picture_batch',
    'read_fixed_views',
    'read_labelled_split',
]
