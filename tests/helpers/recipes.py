"""Reading the recipes of ``configs/`` as a user's config sees them."""

import copy
import os

from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

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


ADAMW_SCHEDULE = os.path.join(CONFIGS, '_base_', 'schedules', 'mae_adamw.py')


def wrapper_of(model, **optimizer):
    """The optimizer wrapper of the pretraining configs' AdamW schedule for ``model``, with
    ``optimizer`` settings changed."""
    cfg = copy.deepcopy(Config.fromfile(ADAMW_SCHEDULE).optim_wrapper)
    cfg.optimizer.update(optimizer)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return build_optim_wrapper(model, cfg)
