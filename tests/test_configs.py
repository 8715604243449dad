"""Every config under configs/ builds with ``Config.fromfile``, and every runnable one (outside
``_base_/``) still resolves to its pinned recipe numbers (``tests/config_recipes.json``).

The pins hold the leaves of the keys in ``RECIPE_KEYS``: model sizes, mask ratio, optimizer,
schedule, batch size and pipelines. After a deliberate recipe change, rewrite them with
``python -m tests.test_configs`` and let the diff of the JSON show which numbers moved.
"""

import glob
import importlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from mmengine.config import Config

from tests.helpers.paths import ROOT

CONFIG_ROOT = os.path.join(ROOT, 'configs')
PINS = os.path.join(ROOT, 'tests', 'config_recipes.json')
RECIPE_KEYS = (
    'model.type',
    'model.arch',
    'model.encoder',
    'model.decoder',
    'model.loss',
    'model.mask_ratio',
    'model.num_classes',
    'model.img_size',
    'model.pool',
    'model.drop_path_rate',
    'model.head_bn',
    'model.head_init_std',
    'model.trainable_blocks',
    'model.label_smoothing',
    'model.data_preprocessor',
    'model.backbone',
    'model.neck',
    'optim_wrapper',
    'param_scheduler',
    'train_cfg',
    'auto_scale_lr',
    'train_dataloader.batch_size',
    'train_dataloader.drop_last',
    'train_dataloader.dataset.pipeline',
    'train_dataloader.dataset.dataset.pipeline',
    'test_dataloader.dataset.pipeline',
)
ALL = sorted(
    os.path.relpath(p, CONFIG_ROOT)
    for p in glob.glob(os.path.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
)
RUNNABLE = [name for name in ALL if not name.startswith('_base_')]

TRANSFER = 'run make install-transfer (mmcv 2.1.0, mmdet, mmseg)'


def importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` of every leaf under ``value``; a list of plain values is a leaf.
    ``_scope_`` (MMEngine's note of the package a base came from) is bookkeeping, not recipe."""
    if isinstance(value, dict):
        for key in sorted(set(value) - {'_scope_'}):
            yield from leaves(value[key], f'{path}.{key}')
    elif isinstance(value, (list, tuple)) and any(
        isinstance(v, (dict, list, tuple)) for v in value
    ):
        for i, item in enumerate(value):
            yield from leaves(item, f'{path}.{i}')
    else:
        yield path, list(value) if isinstance(value, tuple) else value


def recipe(cfg: dict) -> dict[str, Any]:
    """The leaves of ``RECIPE_KEYS`` that ``cfg`` has."""
    out = {}
    for key in RECIPE_KEYS:
        node = cfg
        for part in key.split('.'):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out.update(leaves(node, key))
    return out


def build(name: str) -> dict:
    with open(os.path.join(CONFIG_ROOT, name), encoding='utf-8') as f:
        text = f.read()
    for package in ('mmdet', 'mmseg'):  # the transfer stack; installed by `make test`
        if f'{package}::' in text or f'mae_plugin.{package[2:]}' in text:
            pytest.importorskip(package, reason=f'{package} is not installed: {TRANSFER}')
    try:
        return Config.fromfile(os.path.join(CONFIG_ROOT, name)).to_dict()
    except ImportError as err:  # a base of the transfer stack, or its custom_imports
        said, cause = [], err
        while cause is not None:  # MMEngine re-raises custom_imports' failure in other words
            said.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        missing = [p for p in ('mmcv', 'mmdet', 'mmseg') if p in ' '.join(said)]
        if missing and not all(importable(p) for p in missing):
            pytest.skip(f'{name} needs {", ".join(missing)}: {TRANSFER}')
        raise


@pytest.mark.parametrize('name', ALL)
def test_every_config_builds(name):
    cfg = build(name)
    assert cfg, name


@pytest.mark.parametrize('name', RUNNABLE)
def test_recipe_numbers_did_not_move(name):
    with open(PINS, encoding='utf-8') as f:
        pinned = json.load(f)
    assert name in pinned, f'{name} has no pinned recipe: run python -m tests.test_configs'
    # through JSON, as the pins were written: tuples become lists, numbers stay exact
    assert json.loads(json.dumps(recipe(build(name)))) == pinned[name]


PRETRAIN = [name for name in RUNNABLE if name.startswith('mae_')]


@pytest.mark.parametrize('name', PRETRAIN)
def test_pretraining_loaders_drop_the_last_partial_batch(name):
    """As the official loader and MAEDataModule: every optimizer step sees a full batch, so
    steps per epoch (and the warm-up counted in them) are those of the recipe."""
    cfg = build(name)
    assert cfg['model']['type'].endswith('MAEPretrainModel'), name
    assert cfg['train_dataloader'].get('drop_last') is True, name


if __name__ == '__main__':
    pins = {
        name: recipe(Config.fromfile(os.path.join(CONFIG_ROOT, name)).to_dict())
        for name in RUNNABLE
    }
    with open(PINS, 'w', encoding='utf-8') as f:
        json.dump(pins, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'pinned {len(pins)} recipes in {PINS}', file=sys.stderr)
