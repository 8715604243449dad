"""MMEngine adapter: importing this registers the plugin's components in the ``mae_plugin`` scope.

``pretrain/`` (MAE model, data preprocessor, transforms, image-folder dataset), ``classification/``
(classifier, its transforms and metric), ``hooks/`` (checkpoint safety, data health,
monitoring), ``runtime/`` (``MAERunner`` and the MMEngine 0.10.7 shims), ``optim/`` (layer-wise
lr decay, LARS); ``registry.py`` the scope, ``encoder_init.py`` the ``init_cfg`` loading of every
model built on an MAE encoder, ``nonfinite.py`` the non-finite rule in MMEngine's model and
optimizer wrapper. See docs/architecture.md.
"""

from . import classification, hooks, optim, pretrain, runtime  # noqa: F401  (registers)
from .registry import SCOPE

__all__ = ['SCOPE']
