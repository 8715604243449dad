"""lightly: the MAE of lightly's example (``examples/pytorch_lightning/mae.py``).

Bare or inside the Lightning ``.ckpt`` of that example module (``state_dict``; told apart from
this plugin's own ``.ckpt``, whose weights sit under ``mae.``).

``backbone`` is ``MaskedVisionTransformerTIMM`` (``backbone.vit.*``: timm names). Two decoder
layouts are read:

- current (lightly >= 1.6): ``decoder_embed`` (Linear), ``decoder`` =
  ``MaskedVisionTransformerDecoderTIMM`` (``mask_token``, ``pos_embed``, ``blocks.N``, ``norm``:
  the core names), ``prediction_head`` (Linear);
- deprecated (``MAEDecoderTIMM``, removed in lightly 1.7): ``decoder.<official decoder_* name>``.

The current layout is written. The example's backbone keeps timm's classifier (``vit_base_
patch32_224()``: 1000 classes) and a ``mask_token`` MAE never uses: both are dropped on import
(the report says so) and written as zeros on export (lightly's initial mask token; a head of
``head_classes`` classes, 0 for none) so that the example module loads the file with
``strict=True``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core import (
    DECODER,
    HEAD_KEYS,
    Conversion,
    UnknownKeyError,
    core_decoder_name,
    drop_wrapper_entries,
    encoder_key,
    inner_weights,
    is_timm_vit_key,
    split_core,
)

NAME = 'lightly'
WRITABLE = True
BACKBONE = 'backbone.vit.'
MASK_TOKEN = 'backbone.mask_token'
HEAD_CLASSES = 1000  # timm's vit_*_224() in lightly's example keeps ImageNet's head
# current layout: source prefix -> core prefix
CURRENT = {'decoder_embed.': DECODER + 'embed.', 'prediction_head.': DECODER + 'pred.'}
CURRENT_DECODER = ('mask_token', 'pos_embed', 'blocks.', 'norm.')
OLD_DECODER = 'decoder.decoder_'  # MAEDecoderTIMM: decoder.decoder_embed, ... (+ mask_token)


def detect(ckpt: dict[str, Any]) -> bool:
    """The backbone's patch embedding, bare or under ``state_dict``."""
    inner = ckpt.get('state_dict')
    return BACKBONE + 'patch_embed.proj.weight' in (inner if isinstance(inner, dict) else ckpt)


def _layout(keys: list[str]) -> str:
    """'current', 'deprecated' or 'encoder-only'; ValueError when both decoders are present."""
    old = [k for k in keys if k.startswith(OLD_DECODER)]
    new = [
        k
        for k in keys
        if k.startswith(tuple(CURRENT)) or k.startswith(('decoder.pos_embed', 'decoder.blocks.'))
    ]
    if old and new:
        raise UnknownKeyError(
            f'lightly checkpoint mixes the MAEDecoderTIMM layout ({old[0]!r}, ...) and the '
            f'MaskedVisionTransformerDecoderTIMM layout ({new[0]!r}, ...)'
        )
    return 'deprecated' if old else 'current' if new else 'encoder-only'


def _core_key(key: str, layout: str) -> str | None:
    """Core key of a decoder ``key`` of ``layout``, None if it is not one."""
    for prefix, core in CURRENT.items():
        if layout == 'current' and key.startswith(prefix):
            return core + key[len(prefix) :]
    if not key.startswith('decoder.'):
        return None
    name = key[len('decoder.') :]
    if layout == 'current':
        return DECODER + name if name.startswith(CURRENT_DECODER) else None
    official = core_decoder_name(name)
    return DECODER + official if official else None


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """Either decoder layout (not both); head and backbone mask token dropped."""
    conv = Conversion(NAME)
    weights = inner_weights(ckpt)
    layout = _layout(list(weights))
    for key, value in weights.items():
        name = key[len(BACKBONE) :]
        if key.startswith(BACKBONE) and is_timm_vit_key(name):
            conv.take(key, encoder_key(name), value)
        elif key.startswith(BACKBONE) and name.startswith(HEAD_KEYS):
            conv.drop(key, "classifier head of the backbone's timm ViT, unused by MAE")
        elif key == MASK_TOKEN:
            conv.drop(key, "lightly backbone's mask token, unused by MAE")
        elif (core := _core_key(key, layout)) is not None:
            conv.take(key, core, value)
        else:
            raise UnknownKeyError(
                f'lightly checkpoint ({layout} decoder layout): no place for key {key!r} in an MAE'
            )
    drop_wrapper_entries(conv, ckpt, weights)
    if weights is not ckpt and 'pytorch-lightning_version' in ckpt:
        conv.notes.append("read from a Lightning checkpoint of lightly's MAE example module")
    return conv


def from_core(state: dict[str, Any], head_classes: int | None = None, **_: Any) -> dict[str, Any]:
    """The current layout of lightly's example.

    ``head_classes`` (default 1000, 0 for none): the zero classifier of ``backbone.vit``.
    """
    enc, dec = split_core(state)
    out = {BACKBONE + k: v for k, v in enc.items()}
    out[MASK_TOKEN] = torch.zeros_like(enc['cls_token'])
    classes = HEAD_CLASSES if head_classes is None else head_classes
    if classes:
        dim = enc['cls_token'].shape[-1]
        out[BACKBONE + 'head.weight'] = enc['cls_token'].new_zeros(classes, dim)
        out[BACKBONE + 'head.bias'] = enc['cls_token'].new_zeros(classes)
    for name, value in dec.items():
        if name.startswith('embed.'):
            out['decoder_embed.' + name[len('embed.') :]] = value
        elif name.startswith('pred.'):
            out['prediction_head.' + name[len('pred.') :]] = value
        else:
            out['decoder.' + name] = value
    return out


def written_notes(head_classes: int | None) -> list[str]:
    """What :func:`from_core` wrote that no source key said, for the report."""
    classes = HEAD_CLASSES if head_classes is None else head_classes
    notes = ['backbone.mask_token written as zeros (lightly initialises it so; MAE never uses it)']
    if classes:
        notes.append(
            f"backbone.vit.head written as zeros ({classes} classes, as timm's vit_*_224() "
            "in lightly's MAE example keeps), so that the example loads the file with "
            'strict=True; MAE never uses it (--lightly-head-classes 0 for a ViT built with '
            'num_classes=0)'
        )
    return notes
