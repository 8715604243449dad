"""facebookresearch/mae releases: ``{'model': state}`` in timm names + ``decoder_*``.

Encoder-only (``mae_pretrain_vit_*.pth``), encoder + decoder (``mae_visualize_vit_*.pth``,
``*_full.pth``) and training checkpoints (``model``, ``optimizer``, ``epoch``, ``scaler``,
``args``) all share this layout.
"""

from __future__ import annotations

from typing import Any

from ..core import (
    DECODER,
    HEAD_KEYS,
    Conversion,
    UnknownKeyError,
    core_decoder_name,
    drop_wrapper_entries,
    encoder_key,
    is_timm_vit_key,
    official_decoder_name,
    split_core,
)

NAME = 'official'
WRITABLE = True


def detect(ckpt: dict[str, Any]) -> bool:
    """A dict under ``model`` holding timm's patch embedding."""
    model = ckpt.get('model')
    return isinstance(model, dict) and 'patch_embed.proj.weight' in model


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """Encoder keys as they are, ``decoder_*`` without the prefix; heads dropped."""
    conv = Conversion(NAME)
    for key, value in ckpt['model'].items():
        dec = core_decoder_name(key)
        if dec is not None:
            conv.take(key, DECODER + dec, value)
        elif key.startswith(HEAD_KEYS):
            conv.drop(key, 'classifier head')
        elif is_timm_vit_key(key):
            conv.take(key, encoder_key(key), value)
        else:
            raise UnknownKeyError(f'official checkpoint: no place for key {key!r} in an MAE')
    drop_wrapper_entries(conv, ckpt, ckpt['model'])
    return conv


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Any]:
    """``{'model': <timm names + decoder_* names>}``."""
    enc, dec = split_core(state)
    model = dict(enc)
    model.update({official_decoder_name(k): v for k, v in dec.items()})
    return {'model': model}
