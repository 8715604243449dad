"""MMEngine adapters: importing this registers the plugin's pretraining and classification
components."""
from . import (checkpoint_hook, classifier, cls_transforms, dataset, distributed,  # noqa
               hooks, knn, metrics, model, optim, optimizers, resume, runner, transforms,
               visualization)
from .registry import SCOPE

__all__ = ['SCOPE']
