"""The plugin's registry scope ``mae_plugin``: children of MMEngine's root registries.

Configs set ``default_scope = 'mae_plugin'``; from another scope (mmdet, mmseg, mmpretrain) write
``type='mae_plugin.Name'``. Names are chosen not to collide with mmpretrain's or mmseg's ``MAE*``.
Every root registry gets a child so that building anything under this scope finds its registry
(MMEngine warns and falls back otherwise).
"""

from mmengine import registry as root
from mmengine.registry import Registry

SCOPE = 'mae_plugin'
_LOCATIONS = ['mae_plugin.engine']


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=_LOCATIONS)


RUNNERS = _child(root.RUNNERS)
RUNNER_CONSTRUCTORS = _child(root.RUNNER_CONSTRUCTORS)
STRATEGIES = _child(root.STRATEGIES)
LOOPS = _child(root.LOOPS)
HOOKS = _child(root.HOOKS)
LOG_PROCESSORS = _child(root.LOG_PROCESSORS)
OPTIMIZERS = _child(root.OPTIMIZERS)
OPTIM_WRAPPERS = _child(root.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(root.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(root.PARAM_SCHEDULERS)
DATASETS = _child(root.DATASETS)
DATA_SAMPLERS = _child(root.DATA_SAMPLERS)
TRANSFORMS = _child(root.TRANSFORMS)
MODELS = _child(root.MODELS)
MODEL_WRAPPERS = _child(root.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(root.WEIGHT_INITIALIZERS)
METRICS = _child(root.METRICS)
EVALUATOR = _child(root.EVALUATOR)
VISUALIZERS = _child(root.VISUALIZERS)
VISBACKENDS = _child(root.VISBACKENDS)
FUNCTIONS = _child(root.FUNCTIONS)
TASK_UTILS = _child(root.TASK_UTILS)
