"""MMEngine adapters: importing this registers the plugin's pretraining components."""
from . import (dataset, distributed, hooks, knn, model, optim, resume, transforms,  # noqa
               visualization)
from .registry import SCOPE

__all__ = ['SCOPE']
