"""lightly: the MAE of lightly's example, ``backbone`` = ``MaskedVisionTransformerTIMM`` and
``decoder`` = ``MAEDecoderTIMM`` (whose keys are the official ``decoder_*`` names).

Read from the bare state dict or a Lightning checkpoint's ``state_dict``. lightly's backbone
carries a ``mask_token`` of its own that MAE never uses: dropped on import, written as zeros
(lightly's initial value) on export so that lightly loads the file with ``strict=True``.
"""

from __future__ import annotations

from typing import Any

import torch

from .core import (
    DECODER,
    Conversion,
    UnknownKeyError,
    core_decoder_name,
    drop_wrapper_entries,
    encoder_key,
    inner_weights,
    is_timm_vit_key,
    official_decoder_name,
    split_core,
)

NAME = 'lightly'
BACKBONE = 'backbone.vit.'
HEAD_DECODER = 'decoder.'


def detect(ckpt: dict[str, Any]) -> bool:
    return BACKBONE + 'patch_embed.proj.weight' in inner_weights(ckpt)


def to_core(ckpt: dict[str, Any]) -> Conversion:
    conv = Conversion(NAME)
    weights = inner_weights(ckpt)
    for key, value in weights.items():
        if key.startswith(BACKBONE) and is_timm_vit_key(key[len(BACKBONE) :]):
            conv.take(key, encoder_key(key[len(BACKBONE) :]), value)
        elif key == 'backbone.mask_token':
            conv.drop(key, "lightly backbone's mask token, unused by MAE")
        elif key.startswith(HEAD_DECODER) and core_decoder_name(key[len(HEAD_DECODER) :]):
            conv.take(key, DECODER + core_decoder_name(key[len(HEAD_DECODER) :]), value)
        else:
            raise UnknownKeyError(f'lightly checkpoint: no place for key {key!r} in an MAE')
    drop_wrapper_entries(conv, ckpt, weights)
    return conv


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Any]:
    enc, dec = split_core(state)
    out = {BACKBONE + k: v for k, v in enc.items()}
    out['backbone.mask_token'] = torch.zeros_like(enc['cls_token'])
    out.update({HEAD_DECODER + official_decoder_name(k): v for k, v in dec.items()})
    return out
