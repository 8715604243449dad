"""Key layouts of MAE checkpoints and the prefix changes between them.

- ``plugin``: MMEngine checkpoint of ``MAEPretrainModel``: ``state_dict`` with ``mae.encoder.vit.*``
  (timm names) and ``mae.decoder.*`` (official names without the ``decoder_`` prefix).
- ``official``: facebookresearch/mae releases, ``{'model': ...}`` in timm names for the encoder and
  ``decoder_*`` / ``mask_token`` for the decoder (encoder-only files have no decoder keys).
The core ``MaskedAutoencoder`` itself uses ``encoder.vit.*`` and ``decoder.*``.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

ENCODER = 'encoder.vit.'
DECODER = 'decoder.'
PLUGIN_MODEL = 'mae.'
# keys of a fine-tuned or linear-probe ViT that a pretraining MAE has no place for
HEAD_KEYS = ('head.', 'fc_norm.')


def detect_format(checkpoint: dict[str, Any]) -> str:
    """'plugin' or 'official' from the layout of ``checkpoint``; ValueError otherwise."""
    state = checkpoint.get('state_dict')
    if isinstance(state, dict) and any(k.startswith(PLUGIN_MODEL) for k in state):
        return 'plugin'
    model = checkpoint.get('model')
    if isinstance(model, dict) and 'patch_embed.proj.weight' in model:
        return 'official'
    raise ValueError('unknown checkpoint layout: expected an mae_plugin checkpoint '
                     "(state_dict with 'mae.*' keys) or an official MAE release ('model' with "
                     f"timm key names); top-level keys are {sorted(checkpoint)[:10]}")


def official_to_core(model: dict[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
    """Official ``model`` dict -> core ``MaskedAutoencoder`` keys; returns (state, dropped)."""
    state, dropped = {}, []
    for key, value in model.items():
        if key.startswith(HEAD_KEYS):
            dropped.append(key)
        elif key == 'mask_token':
            state[DECODER + 'mask_token'] = value
        elif key.startswith('decoder_'):
            state[DECODER + key[len('decoder_'):]] = value
        else:
            state[ENCODER + key] = value
    return state, dropped


def core_to_official(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Core ``MaskedAutoencoder`` keys -> official names (inverse of :func:`official_to_core`)."""
    out = {}
    for key, value in state.items():
        if key.startswith(ENCODER):
            out[key[len(ENCODER):]] = value
        elif key == DECODER + 'mask_token':
            out['mask_token'] = value
        elif key.startswith(DECODER):
            out['decoder_' + key[len(DECODER):]] = value
        else:
            raise KeyError(f'key {key!r} belongs to neither the encoder nor the decoder')
    return out


def to_core(checkpoint: dict[str, Any]) -> tuple[str, dict[str, Tensor], list[str]]:
    """Any known layout -> (format, core state dict, dropped keys)."""
    fmt = detect_format(checkpoint)
    if fmt == 'plugin':
        state = checkpoint['state_dict']
        core = {k[len(PLUGIN_MODEL):]: v for k, v in state.items() if k.startswith(PLUGIN_MODEL)}
        return fmt, core, [k for k in state if not k.startswith(PLUGIN_MODEL)]
    core, dropped = official_to_core(checkpoint['model'])
    return fmt, core, dropped
