"""MMEngine adapters: importing this registers the plugin's pretraining components."""
from . import dataset, distributed, hooks, model, optim, resume, transforms, visualization  # noqa
from .registry import SCOPE

__all__ = ['SCOPE']
