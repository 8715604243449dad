"""A Hugging Face folder: ``config.json`` beside its weights.

The weights are ``model.safetensors`` or ``pytorch_model.bin``, sharded or not. Read as JSON and
weights, nothing run; written file by file, atomically, the config last.

Reading returns a plain dict: ``{'config': <config.json>, 'state_dict': <weights>, 'files':
{'config': <its path>, 'weights': <the weights' path>}}``; the paths let the ``hf`` format name
the files when the config disagrees with the weights (``formats/hf.py`` checks that).
"""

from __future__ import annotations

import json
import os
from typing import Any

from torch import Tensor

from ...fileio import atomic_write_bytes, atomic_write_text
from .errors import CorruptCheckpointError
from .safetensors_file import SAFETENSORS, read_safetensors_file, safetensors_bytes
from .torch_file import read_torch_file

CONFIG = 'config.json'
WEIGHTS = ('model.safetensors', 'pytorch_model.bin')  # transformers' order of preference
FILES_KEY = 'files'  # where a folder's entries came from: {'config': path, 'weights': path}
# ViTMAE's patch embedding, bare (ViTMAEModel) or under PREFIX (ViTMAEForPreTraining): a folder
# whose weights lack it holds some other model
EMBED = 'embeddings.patch_embeddings.projection.weight'
PREFIX = 'vit.'


def _read_weights(path: str) -> dict[str, Any]:
    return read_safetensors_file(path) if path.endswith(SAFETENSORS) else read_torch_file(path)


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptCheckpointError(f'cannot read {path!r}: not JSON ({err})') from None


def _read_sharded(folder: str, index: str) -> dict[str, Any]:
    """The weights of a sharded folder, every key where ``index``'s weight_map says."""
    weight_map = _read_json(index).get('weight_map')
    if not isinstance(weight_map, dict) or not weight_map:
        raise CorruptCheckpointError(f'{index!r} has no weight_map')
    weights: dict[str, Any] = {}
    for shard in sorted(set(weight_map.values())):
        part = _read_weights(os.path.join(folder, os.path.basename(shard)))
        strays = sorted(set(part) - {k for k, s in weight_map.items() if s == shard})
        if strays:
            raise CorruptCheckpointError(
                f'{shard!r} holds keys {index!r} does not list: {strays[:5]}'
            )
        weights.update(part)
    missing = sorted(set(weight_map) - set(weights))
    if missing:
        raise CorruptCheckpointError(f'{index!r} lists keys no shard holds: {missing[:5]}')
    return weights


def read_hf_folder(folder: str) -> dict[str, Any]:
    """The config, weights and file paths of a Hugging Face folder (see the module docstring).

    Raises:
        FileNotFoundError: no ``config.json``, or no weights beside it.
        CorruptCheckpointError: a file that is not JSON, safetensors or a torch file, or
            shards that disagree with their index.
        ValueError: weights without ViTMAE's patch embedding (another model's folder).
    """
    config_path = os.path.join(folder, CONFIG)
    names = sorted(os.listdir(folder))
    if not os.path.isfile(config_path):
        raise FileNotFoundError(
            f'{folder!r} is a folder without {CONFIG}: a Hugging Face '
            f'folder holds {CONFIG} beside {" or ".join(WEIGHTS)} (it holds '
            f'{names[:8]})'
        )
    config = _read_json(config_path)
    found = [n for n in WEIGHTS if n in names]
    indexes = [n + '.index.json' for n in WEIGHTS if n + '.index.json' in names]
    if found:
        weights_path = os.path.join(folder, found[0])
        weights = _read_weights(weights_path)
    elif indexes:
        weights_path = os.path.join(folder, indexes[0])
        weights = _read_sharded(folder, weights_path)
    else:
        raise FileNotFoundError(
            f'{folder!r} has {CONFIG} but no weights: none of '
            f'{list(WEIGHTS)} (or their .index.json); it holds {names[:8]}'
        )
    if EMBED not in weights and PREFIX + EMBED not in weights:
        raise ValueError(
            f'{weights_path!r} is not in the Hugging Face ViTMAE layout (no '
            f'{EMBED!r}); its keys begin {sorted(weights)[:5]}'
        )
    files = {'config': config_path, 'weights': weights_path}
    return {'config': config, 'state_dict': weights, FILES_KEY: files}


def write_hf_folder(tensors: dict[str, Tensor], folder: str, config: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``config.json`` (``config``) into ``folder``.

    Raises:
        ValueError: ``folder`` is a file, or already holds other weights that would sit
            beside the new ones.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(
            f'{folder!r} exists and is not a folder: --to hf writes a folder '
            f'(config.json + model.safetensors); name a {SAFETENSORS} file '
            'for the weights alone'
        )
    stale = (
        [
            n
            for n in os.listdir(folder)
            if n.startswith(('pytorch_model', 'model.safetensors.')) or n.endswith('.index.json')
        ]
        if os.path.isdir(folder)
        else []
    )
    if stale:
        raise ValueError(
            f'{folder!r} already holds weights {stale[:4]} that would sit beside '
            'the new model.safetensors; choose an empty folder'
        )
    data = safetensors_bytes(tensors)
    # config last, an old one removed first: a folder cut short has no config.json (which
    # reading refuses), never new weights beside an old config
    if os.path.isfile(os.path.join(folder, CONFIG)):
        os.remove(os.path.join(folder, CONFIG))
    atomic_write_bytes(data, os.path.join(folder, WEIGHTS[0]))
    atomic_write_text(
        json.dumps(config, indent=2, sort_keys=True) + '\n', os.path.join(folder, CONFIG)
    )
