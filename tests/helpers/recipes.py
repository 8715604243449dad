"""Reading the recipes of ``configs/`` as a user's config sees them."""

import os

from mmengine.config import Config

from tests.helpers.paths import CONFIGS


def load(name: str) -> Config:
    """``configs/<name>`` read by MMEngine."""
    return Config.fromfile(os.path.join(CONFIGS, name))


def assert_plugin_runner_and_safe_checkpoints(cfg: Config) -> None:
    """The lr rule with accumulation and strict loading live in MAERunner; atomic writes and
    delete-after-write in AtomicCheckpointHook; the other guards in the safety hooks."""
    assert cfg.runner_type == 'mae_plugin.MAERunner'
    hooks = {
        h['type'].split('.')[-1]
        for h in [*cfg.default_hooks.values(), *cfg.get('custom_hooks', [])]
    }
    assert cfg.default_hooks.checkpoint.type.split('.')[-1] == 'AtomicCheckpointHook'
    assert {'FiniteWeightsHook', 'WeightsOnlyResumeHook', 'ResumeScheduleGuardHook'} <= hooks
