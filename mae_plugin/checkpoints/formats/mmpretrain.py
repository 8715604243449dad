"""mmpretrain / mmselfsup 1.x MAE checkpoints (import only).

``backbone.*`` is mmpretrain's ViT (``patch_embed.projection``, ``layers.N.ln1``,
``attn.qkv``, ``ffn.layers.0.0``, final ``ln1``); ``neck.*`` is ``MAEPretrainDecoder``
(``decoder_embed``, ``mask_token``, ``decoder_pos_embed``, ``decoder_blocks.N``, ``ln1``,
``decoder_pred``). Layer-scale variants have no counterpart here and are refused.
"""

from __future__ import annotations

import re
from typing import Any

from ..core import DECODER, Conversion, UnknownKeyError, drop_wrapper_entries, encoder_key

NAME = 'mmpretrain'
WRITABLE = False

# mmpretrain TransformerEncoderLayer -> timm Block
_LAYER = [
    (re.compile(r'^ln1\.'), 'norm1.'),
    (re.compile(r'^ln2\.'), 'norm2.'),
    (re.compile(r'^attn\.(qkv|proj)\.'), r'attn.\1.'),
    (re.compile(r'^ffn\.layers\.0\.0\.'), 'mlp.fc1.'),
    (re.compile(r'^ffn\.layers\.1\.'), 'mlp.fc2.'),
]
_BLOCK = re.compile(r'^(layers|decoder_blocks)\.(\d+)\.(.+)$')


def _layer(rest: str) -> str | None:
    for pattern, repl in _LAYER:
        if pattern.match(rest):
            return pattern.sub(repl, rest, count=1)
    return None


def _backbone(key: str) -> str | None:
    if key in ('cls_token', 'pos_embed'):
        return key
    if key.startswith('patch_embed.projection.'):
        return 'patch_embed.proj.' + key.rsplit('.', 1)[1]
    if key.startswith('ln1.'):
        return 'norm.' + key[len('ln1.') :]
    match = _BLOCK.match(key)
    if match and match.group(1) == 'layers':
        layer = _layer(match.group(3))
        return f'blocks.{match.group(2)}.{layer}' if layer else None
    return None


def _neck(key: str) -> str | None:
    simple = {'mask_token': 'mask_token', 'decoder_pos_embed': 'pos_embed'}
    if key in simple:
        return simple[key]
    for src, dst in (('decoder_embed.', 'embed.'), ('ln1.', 'norm.'), ('decoder_pred.', 'pred.')):
        if key.startswith(src):
            return dst + key[len(src) :]
    match = _BLOCK.match(key)
    if match and match.group(1) == 'decoder_blocks':
        layer = _layer(match.group(3))
        return f'blocks.{match.group(2)}.{layer}' if layer else None
    return None


def detect(ckpt: dict[str, Any]) -> bool:
    """A ``state_dict`` holding mmpretrain's ``backbone.patch_embed.projection``."""
    state = ckpt.get('state_dict')
    return isinstance(state, dict) and 'backbone.patch_embed.projection.weight' in state


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """``backbone`` to the encoder, ``neck`` to the decoder; preprocessor and head dropped."""
    conv = Conversion(NAME)
    for key, value in ckpt['state_dict'].items():
        part, _, rest = key.partition('.')
        mapped = _backbone(rest) if part == 'backbone' else _neck(rest) if part == 'neck' else None
        if mapped is not None:
            conv.take(key, encoder_key(mapped) if part == 'backbone' else DECODER + mapped, value)
        elif part in ('data_preprocessor', 'head'):
            conv.drop(key, f'{part} state')
        else:
            raise UnknownKeyError(f'mmpretrain checkpoint: no place for key {key!r} in an MAE')
    drop_wrapper_entries(conv, ckpt, ckpt['state_dict'])
    return conv


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Import only: raises ValueError."""
    raise ValueError(f'cannot write the {NAME!r} format (import only)')
