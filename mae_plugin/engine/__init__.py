"""MMEngine adapters: importing this registers the plugin's pretraining and classification
components."""
from . import (classifier, cls_transforms, dataset, distributed, hooks, knn, metrics,  # noqa
               model, optim, optimizers, resume, transforms, visualization)
from .registry import SCOPE

__all__ = ['SCOPE']
