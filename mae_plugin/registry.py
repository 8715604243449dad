"""Entry MMEngine looks for when a config names ``type='mae_plugin.X'`` from another scope."""

from .engine.registry import *  # noqa: F401,F403
