"""This plugin's MMEngine checkpoints: ``state_dict`` with ``mae.<core key>``.

``meta['pos_embed_grid']`` = [h, w], when present, is the patch grid of the position tables;
``meta['mae_model']`` the sizes and settings the weights do not hold (head counts, mask ratio,
norm-pix: ``model_meta.py``), which fill a ``--to hf`` config. Training writes both
(``MAEModelMetaHook``), the converter keeps them.
"""

from __future__ import annotations

from typing import Any

from ..core import Conversion, UnknownKeyError
from ..model_meta import (
    GRID_META_KEY,
    MODEL_META_KEY,
    grid_from_meta,
    hf_fields,
    meta_grid,
    read_model_meta,
)

NAME = 'plugin'
WRITABLE = True
PREFIX = 'mae.'


def detect(ckpt: dict[str, Any]) -> bool:
    """A ``state_dict`` with keys under ``mae.``."""
    state = ckpt.get('state_dict')
    return isinstance(state, dict) and any(k.startswith(PREFIX) for k in state)


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """``mae.`` stripped; the rest of the file kept in ``extras``, its grid read."""
    conv = Conversion(NAME)
    for key, value in ckpt['state_dict'].items():
        if key.startswith(PREFIX):
            conv.take(key, key[len(PREFIX) :], value)
        elif key.startswith('data_preprocessor.'):
            conv.drop(key, 'data preprocessor buffers')
        else:
            raise UnknownKeyError(f'plugin checkpoint: no place for key {key!r} in an MAE')
    for key, value in ckpt.items():
        if key != 'state_dict':
            conv.drop(key, 'training state')
            conv.extras[key] = value
    conv.grid = grid_from_meta(ckpt.get('meta'))
    model = read_model_meta(ckpt.get('meta'), 'meta')
    if model is not None:
        conv.grid = conv.grid or meta_grid(model)
        conv.extras['hf_config'] = hf_fields(model)
    return conv


def from_core(
    state: dict[str, Any],
    extras: dict[str, Any] | None = None,
    keep_optimizer: bool = False,
    grid: tuple[int, int] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """A plugin checkpoint: ``meta`` and the weights under ``mae.``.

    ``keep_optimizer`` keeps the source's optimizer, schedulers and message hub too (a plugin
    checkpoint re-written). ``grid`` (h, w) of the position tables goes to
    ``meta['pos_embed_grid']``.
    """
    meta = dict((extras or {}).get('meta', {}))
    if MODEL_META_KEY in (extras or {}):  # a Lightning .ckpt keeps it beside the weights
        meta.setdefault(MODEL_META_KEY, extras[MODEL_META_KEY])
    meta.pop(GRID_META_KEY, None)  # the source's grid is stale once tables were resampled
    if grid is not None:
        meta[GRID_META_KEY] = [int(grid[0]), int(grid[1])]
        model = meta.get(MODEL_META_KEY)
        if isinstance(model, dict) and isinstance(model.get('patch_size'), int):
            patch = model['patch_size']
            meta[MODEL_META_KEY] = {**model, 'img_size': [grid[0] * patch, grid[1] * patch]}
    out: dict[str, Any] = {'meta': meta, 'state_dict': {PREFIX + k: v for k, v in state.items()}}
    if keep_optimizer:
        out.update({k: v for k, v in (extras or {}).items() if k not in out})
    return out
