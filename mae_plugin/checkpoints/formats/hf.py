"""Hugging Face transformers: ``ViTMAEForPreTraining`` / ``ViTMAEModel`` weights.

The layout ``save_pretrained`` writes and the hub's ``facebook/vit-mae-*`` hold:
``vit.embeddings.{cls_token, position_embeddings, patch_embeddings.projection}``,
``vit.encoder.layer.N.{layernorm_before, attention.attention.{query,key,value},
attention.output.dense, layernorm_after, intermediate.dense, output.dense}``, ``vit.layernorm``;
``decoder.{decoder_embed, mask_token, decoder_pos_embed, decoder_layers.N.<as above>,
decoder_norm, decoder_pred}``. ``ViTMAEModel`` alone has no ``vit.`` prefix and no decoder.
This is the layout written: transformers 4.40+ loads it as it is, transformers 5 through its
own key renaming (``conversion_mapping.py``).

Also read: transformers 5's module names (``layers.N.attention.{q,k,v,o}_proj``, ``mlp.fc1``,
``mlp.fc2``), which its ``model.state_dict()`` returns, and ``decoder.decoder_encoder.layer.N``,
which transformers 5's ``save_pretrained`` writes for the decoder layers (its reverse renaming
of ``encoder.layer`` -> ``layers`` catches ``decoder_layers``).

HF keeps query, key and value as three ``Linear`` layers; timm one ``qkv`` of (3 D, D) whose
rows are q, k, v, heads contiguous within each, as in HF: concatenated on read, split on write.
A folder's ``config.json`` arrives as ``ckpt['config']`` (see ``containers/hf_folder.py``),
checked against the weights here (``hf_config.py``).
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor

from ..containers.hf_folder import EMBED, FILES_KEY, PREFIX
from ..core import DECODER, ENCODER, Conversion, UnknownKeyError, inner_weights, split_core
from ..hf_config import check_config

NAME = 'hf'
WRITABLE = True

# inside a layer: HF module -> timm module, or the index of q/k/v in timm's fused qkv
_LAYER: dict[str, str | int] = {
    'layernorm_before': 'norm1',
    'layernorm_after': 'norm2',
    'attention.attention.query': 0,
    'attention.attention.key': 1,
    'attention.attention.value': 2,
    'attention.output.dense': 'attn.proj',
    'intermediate.dense': 'mlp.fc1',
    'output.dense': 'mlp.fc2',
    # transformers 5 module names
    'attention.q_proj': 0,
    'attention.k_proj': 1,
    'attention.v_proj': 2,
    'attention.o_proj': 'attn.proj',
    'mlp.fc1': 'mlp.fc1',
    'mlp.fc2': 'mlp.fc2',
}
QKV = ('attention.attention.query', 'attention.attention.key', 'attention.attention.value')
_WRITE_LAYER = {
    'norm1': 'layernorm_before',
    'norm2': 'layernorm_after',
    'attn.proj': 'attention.output.dense',
    'mlp.fc1': 'intermediate.dense',
    'mlp.fc2': 'output.dense',
}
_ENC = {
    'embeddings.cls_token': 'cls_token',
    'embeddings.position_embeddings': 'pos_embed',
    EMBED: 'patch_embed.proj.weight',
    'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
    'layernorm.weight': 'norm.weight',
    'layernorm.bias': 'norm.bias',
}
_DEC = {
    'mask_token': 'mask_token',
    'decoder_pos_embed': 'pos_embed',
    **{
        f'{hf}.{p}': f'{core}.{p}'
        for hf, core in (
            ('decoder_embed', 'embed'),
            ('decoder_norm', 'norm'),
            ('decoder_pred', 'pred'),
        )
        for p in ('weight', 'bias')
    },
}
_ENC_LAYER = re.compile(r'^(?:encoder\.layer|layers)\.(\d+)\.(.+)\.(weight|bias)$')
_DEC_LAYER = re.compile(r'^(?:decoder_layers|decoder_encoder\.layer)\.(\d+)\.(.+)\.(weight|bias)$')


def detect(ckpt: dict[str, Any]) -> bool:
    """ViTMAE's patch embedding (bare or under ``vit.``), bare or under ``state_dict``."""
    inner = ckpt.get('state_dict')
    weights = inner if isinstance(inner, dict) else ckpt
    return EMBED in weights or PREFIX + EMBED in weights


def _core_key(key: str, prefix: str) -> tuple[str, int | None] | None:
    """(core key, q/k/v index or None) of HF ``key``; None if it has no place in an MAE."""
    if key.startswith('decoder.'):
        name, table, layer, core = key[len('decoder.') :], _DEC, _DEC_LAYER, DECODER
    elif key.startswith(prefix):
        name, table, layer, core = key[len(prefix) :], _ENC, _ENC_LAYER, ENCODER
    else:
        return None
    if name in table:
        return core + table[name], None
    match = layer.match(name)
    target = _LAYER.get(match.group(2)) if match else None
    if target is None:
        return None
    block, param = match.group(1), match.group(3)
    if isinstance(target, int):
        return f'{core}blocks.{block}.attn.qkv.{param}', target
    return f'{core}blocks.{block}.{target}.{param}', None


def _read_weights(conv: Conversion, weights: dict[str, Any]) -> None:
    """Fill ``conv`` from HF ``weights`` (q, k and v concatenated into timm's qkv)."""
    prefix = PREFIX if PREFIX + EMBED in weights else ''
    sources: dict[str, list[str]] = {}  # core key -> the HF keys that make it
    parts: dict[str, list[Tensor | None]] = {}  # core qkv key -> [q, k, v]
    for key, value in weights.items():
        target = _core_key(key, prefix)
        if target is None:
            where = f'under {prefix!r}' if prefix else 'unprefixed'
            raise UnknownKeyError(
                f'Hugging Face checkpoint: no place for key {key!r} in an MAE '
                f'(encoder keys {where}, decoder keys under "decoder.")'
            )
        core, index = target
        if core in sources and (index is None or parts[core][index] is not None):
            raise UnknownKeyError(
                f'Hugging Face checkpoint: keys {sources[core] + [key]} both '
                f'hold {core!r} (two naming schemes mixed?)'
            )
        sources.setdefault(core, []).append(key)
        if index is None:
            conv.state[core] = value
        else:
            parts.setdefault(core, [None, None, None])[index] = value
    for core, (q, k, v) in parts.items():
        if q is None or k is None or v is None:
            missing = [n for n, t in zip(QKV, (q, k, v), strict=True) if t is None]
            raise UnknownKeyError(
                f'Hugging Face checkpoint: {sources[core]} without the '
                f'{missing} part of the same layer'
            )
        conv.state[core] = torch.cat([q, k, v], dim=0)
    conv.used = [key for keys in sources.values() for key in keys]


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """HF keys to core keys; a ``config`` beside the weights checked against them.

    A folder's dict (``containers/hf_folder.py``) carries the paths of its files, which the
    errors name; its config gives the grid of the position tables and, for a ``--to hf``
    output, the fields the weights do not hold.
    """
    conv = Conversion(NAME)
    weights = inner_weights(ckpt)
    files = ckpt.get(FILES_KEY) if weights is not ckpt else None
    files = files if isinstance(files, dict) else {}
    try:
        _read_weights(conv, weights)
    except KeyError as err:
        if 'weights' not in files:
            raise
        raise type(err)(f'{files["weights"]}: {err}') from None
    if weights is ckpt:
        return conv
    for key, value in ckpt.items():
        if key == 'config' and (files or isinstance(value, dict)):  # a folder's config.json
            where = files.get('config', 'config.json')
            conv.grid = check_config(value, conv.state, where, files.get('weights', 'the weights'))
            conv.extras['hf_config'] = value
        elif key == FILES_KEY and files:
            continue  # where the entries came from, not an entry
        elif value is not weights:
            conv.drop(key, 'training state')
    return conv


def _layer_keys(name: str, out_prefix: str) -> list[tuple[str, int | None]]:
    """The HF keys of timm block key ``N.<module>.<param>``, each with its q/k/v index."""
    block, rest = name.split('.', 1)
    module, param = rest.rsplit('.', 1)
    if module == 'attn.qkv':
        return [(f'{out_prefix}{block}.{hf}.{param}', i) for i, hf in enumerate(QKV)]
    if module not in _WRITE_LAYER:
        raise UnknownKeyError(f'no place in the Hugging Face layout for block key {name!r}')
    return [(f'{out_prefix}{block}.{_WRITE_LAYER[module]}.{param}', None)]


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Tensor]:
    """HF keys of core ``state``.

    ``ViTMAEForPreTraining`` keys (``vit.`` + ``decoder.``) with a decoder, else
    ``ViTMAEModel`` keys (no prefix).
    """
    enc, dec = split_core(state)
    prefix = PREFIX if dec else ''
    out: dict[str, Tensor] = {}
    for names, part, table, layers in (
        (enc, prefix, _ENC, prefix + 'encoder.layer.'),
        (dec, 'decoder.', _DEC, 'decoder.decoder_layers.'),
    ):
        inverse = {core: hf for hf, core in table.items()}
        for name, value in names.items():
            if name.startswith('blocks.'):
                for key, index in _layer_keys(name[len('blocks.') :], layers):
                    # clone: three views of one storage cannot go to safetensors
                    out[key] = value.chunk(3)[index].clone() if index is not None else value
            elif name in inverse:
                out[part + inverse[name]] = value
            else:
                raise UnknownKeyError(f'no place in the Hugging Face layout for {name!r}')
    return out
