"""timm: a plain ``VisionTransformer`` state dict (the ``vit_*_patch*_224.mae`` layout).

Read from a bare dict of tensors or from timm's training checkpoints (``{'state_dict': ...}``).
Written as a bare dict that loads with ``strict=True`` into ``timm.create_model(name,
num_classes=0)``; the decoder does not exist in timm and is left out (the report says so).
"""

from __future__ import annotations

from typing import Any

from ..core import (
    HEAD_KEYS,
    Conversion,
    UnknownKeyError,
    drop_wrapper_entries,
    encoder_key,
    inner_weights,
    is_timm_vit_key,
    split_core,
)

NAME = 'timm'
WRITABLE = True
PATCH_KEY = 'patch_embed.proj.weight'


def detect(ckpt: dict[str, Any]) -> bool:
    """Whether timm's patch embedding is there, bare or under ``state_dict``."""
    inner = ckpt.get('state_dict')
    return PATCH_KEY in (inner if isinstance(inner, dict) else ckpt)


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """ViT keys under ``encoder.vit.``; a classifier head dropped."""
    conv = Conversion(NAME)
    weights = inner_weights(ckpt)
    for key, value in weights.items():
        if key.startswith(HEAD_KEYS):
            conv.drop(key, 'classifier head')
        elif is_timm_vit_key(key):
            conv.take(key, encoder_key(key), value)
        else:
            raise UnknownKeyError(f'timm checkpoint: no place for key {key!r} in an MAE')
    drop_wrapper_entries(conv, ckpt, weights)
    return conv


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Any]:
    """The encoder alone, in timm names."""
    enc, _dec = split_core(state)
    return dict(enc)
