"""Files by their kind: a Hugging Face folder (``config.json`` + ``model.safetensors`` or
``pytorch_model.bin``, sharded or not), a ``.safetensors`` file, a torch file. Reading runs
nothing (JSON, safetensors, ``weights_only``); writing is atomic file by file.
"""

from __future__ import annotations

import json
import os
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor

from . import hf_format
from .atomic import atomic_torch_save, atomic_write_bytes, atomic_write_text
from .hf_config import check_config
from .safe_load import CorruptCheckpointError, load_checkpoint_file

CONFIG = 'config.json'
WEIGHTS = ('model.safetensors', 'pytorch_model.bin')  # transformers' order of preference
SAFETENSORS = '.safetensors'
FILE_SUFFIXES = (SAFETENSORS, '.pth', '.pt', '.bin')  # --to hf: a file of weights, not a folder


def hf_writes_folder(dst: str | os.PathLike) -> bool:
    """Whether ``--to hf`` writes a folder at ``dst`` (any name but a weights file's)."""
    return not os.fspath(dst).endswith(FILE_SUFFIXES)


def load_safetensors_file(path: str) -> dict[str, Tensor]:
    """``safetensors.torch.load_file`` on the CPU; a damaged file is a CorruptCheckpointError."""
    try:
        return load_file(path, device='cpu')
    except SafetensorError as err:
        raise CorruptCheckpointError(
            f'cannot read safetensors file {path!r}: truncated or not a safetensors file ({err})'
        ) from None


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptCheckpointError(f'cannot read {path!r}: not JSON ({err})') from None


def _read_sharded(folder: str, index: str) -> dict[str, Tensor]:
    """The weights of a sharded folder, every key where ``index``'s weight_map says."""
    weight_map = _read_json(index).get('weight_map')
    if not isinstance(weight_map, dict) or not weight_map:
        raise CorruptCheckpointError(f'{index!r} has no weight_map')
    weights: dict[str, Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        part = load_checkpoint_file(os.path.join(folder, os.path.basename(shard)))
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
    """``{'config': <config.json>, 'state_dict': <weights>}`` of a Hugging Face folder, the
    config checked against the weights (an error names the file, field and both values)."""
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
        weights = load_checkpoint_file(weights_path)
    elif indexes:
        weights_path = os.path.join(folder, indexes[0])
        weights = _read_sharded(folder, weights_path)
    else:
        raise FileNotFoundError(
            f'{folder!r} has {CONFIG} but no weights: none of '
            f'{list(WEIGHTS)} (or their .index.json); it holds {names[:8]}'
        )
    if not hf_format.detect(weights):
        raise ValueError(
            f'{weights_path!r} is not in the Hugging Face ViTMAE layout (no '
            f'{hf_format.EMBED!r}); its keys begin {sorted(weights)[:5]}'
        )
    try:
        state = hf_format.to_core(weights).state
    except KeyError as err:
        raise type(err)(f'{weights_path}: {err}') from None
    check_config(config, state, config_path, weights_path)
    return {'config': config, 'state_dict': weights}


def _flat_tensors(obj: dict[str, Any]) -> bool:
    return all(isinstance(v, Tensor) for v in obj.values())


def write_checkpoint(
    obj: dict[str, Any], dst: str | os.PathLike, fmt: str, config: dict[str, Any] | None = None
) -> None:
    """Write ``obj`` (format ``fmt``) to ``dst``: safetensors when ``dst`` ends with
    ``.safetensors``, a Hugging Face folder for ``fmt == 'hf'`` unless ``dst`` names a weights
    file (``config`` is its config.json), else a torch file. Each file is written atomically."""
    dst = os.fspath(dst)
    if dst.endswith(SAFETENSORS):
        if not _flat_tensors(obj):
            nested = sorted(k for k, v in obj.items() if not isinstance(v, Tensor))
            raise ValueError(
                f'the {fmt!r} format cannot be stored as safetensors ({dst!r}): '
                f'it keeps {nested[:4]} beside or around the weights, and '
                'safetensors holds a flat dict of tensors only; write a .pth file'
            )
        data = save({k: v.contiguous() for k, v in obj.items()}, metadata={'format': 'pt'})
        atomic_write_bytes(data, dst)
    elif fmt == hf_format.NAME and hf_writes_folder(dst):
        if config is None:
            raise ValueError('a Hugging Face folder needs its config.json')
        if os.path.exists(dst) and not os.path.isdir(dst):
            raise ValueError(
                f'{dst!r} exists and is not a folder: --to hf writes a folder '
                f'(config.json + model.safetensors); name a {SAFETENSORS} file '
                'for the weights alone'
            )
        stale = (
            [
                n
                for n in os.listdir(dst)
                if n.startswith(('pytorch_model', 'model.safetensors.'))
                or n.endswith('.index.json')
            ]
            if os.path.isdir(dst)
            else []
        )
        if stale:
            raise ValueError(
                f'{dst!r} already holds weights {stale[:4]} that would sit beside '
                'the new model.safetensors; choose an empty folder'
            )
        data = save({k: v.contiguous() for k, v in obj.items()}, metadata={'format': 'pt'})
        # config last, an old one removed first: a folder cut short has no config.json (which
        # reading refuses), never new weights beside an old config
        if os.path.isfile(os.path.join(dst, CONFIG)):
            os.remove(os.path.join(dst, CONFIG))
        atomic_write_bytes(data, os.path.join(dst, WEIGHTS[0]))
        atomic_write_text(
            json.dumps(config, indent=2, sort_keys=True) + '\n', os.path.join(dst, CONFIG)
        )
    else:
        atomic_torch_save(obj, dst)
