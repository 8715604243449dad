"""mae_plugin: Masked Autoencoders (He et al. 2021) for the OpenMMLab stack.

``import mae_plugin`` (or ``custom_imports=dict(imports=['mae_plugin'])``) registers the
pretraining components in the ``mae_plugin`` registry scope. ``mae_plugin.models`` is the
pure-torch core and imports no OpenMMLab package.
"""

from . import engine  # noqa: F401  (registers components)
from .version import __version__

__all__ = ['__version__']
