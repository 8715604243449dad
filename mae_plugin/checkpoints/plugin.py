"""This plugin's MMEngine checkpoints: ``state_dict`` with ``mae.<core key>``."""
from __future__ import annotations

from typing import Any

from .core import Conversion, UnknownKeyError

NAME = 'plugin'
PREFIX = 'mae.'


def detect(ckpt: dict[str, Any]) -> bool:
    state = ckpt.get('state_dict')
    return isinstance(state, dict) and any(k.startswith(PREFIX) for k in state)


def to_core(ckpt: dict[str, Any]) -> Conversion:
    conv = Conversion(NAME)
    for key, value in ckpt['state_dict'].items():
        if key.startswith(PREFIX):
            conv.take(key, key[len(PREFIX):], value)
        elif key.startswith('data_preprocessor.'):
            conv.drop(key, 'data preprocessor buffers')
        else:
            raise UnknownKeyError(f'plugin checkpoint: no place for key {key!r} in an MAE')
    for key, value in ckpt.items():
        if key != 'state_dict':
            conv.drop(key, 'training state')
            conv.extras[key] = value
    return conv


def from_core(state: dict[str, Any], extras: dict[str, Any] | None = None,
              keep_optimizer: bool = False, **_: Any) -> dict[str, Any]:
    """``keep_optimizer`` keeps the source's optimizer, schedulers and message hub (a plugin
    checkpoint re-written); otherwise only ``meta`` and the weights."""
    out: dict[str, Any] = {'meta': dict((extras or {}).get('meta', {})),
                           'state_dict': {PREFIX + k: v for k, v in state.items()}}
    if keep_optimizer:
        out.update({k: v for k, v in (extras or {}).items() if k not in out})
    return out
