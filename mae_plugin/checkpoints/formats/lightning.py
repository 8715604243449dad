"""Lightning ``.ckpt`` files of ``mae_plugin.lightning.MAELightningModule`` (import only).

A Lightning checkpoint (``pytorch-lightning_version``, ``state_dict``, ``optimizer_states``,
``loops``, ``hyper_parameters``, ...) whose ``state_dict`` holds the core MAE under ``mae.``.
Detected before ``plugin``, whose MMEngine checkpoints share the ``mae.`` prefix. The grid of the
position tables, the head counts, mask ratio and norm-pix setting (which fill a ``--to hf``
config) come from ``ckpt['mae_model']`` (``model_meta.py``, written by the module), else from
``hyper_parameters`` (``img_size`` over the patch size of the weights; files of older modules).
"""

from __future__ import annotations

from typing import Any

from ..core import Conversion, UnknownKeyError
from ..model_meta import hf_fields, meta_grid, read_model_meta

NAME = 'lightning'
WRITABLE = False  # written by Lightning itself (MAECheckpointIO)
PREFIX = 'mae.'
VERSION_KEY = 'pytorch-lightning_version'
PATCH_KEY = PREFIX + 'encoder.vit.patch_embed.proj.weight'


def detect(ckpt: dict[str, Any]) -> bool:
    """Lightning's version key beside a ``state_dict`` holding the MAE under ``mae.``."""
    state = ckpt.get('state_dict')
    return VERSION_KEY in ckpt and isinstance(state, dict) and PATCH_KEY in state


def _grid(ckpt: dict[str, Any]) -> tuple[int, int] | None:
    img_size = (ckpt.get('hyper_parameters') or {}).get('img_size')
    patch = ckpt['state_dict'][PATCH_KEY].shape[-1]
    if not isinstance(img_size, int) or img_size % patch:
        return None
    return img_size // patch, img_size // patch


def to_core(ckpt: dict[str, Any]) -> Conversion:
    """``mae.`` stripped; the rest kept in ``extras``; grid and config fields read."""
    conv = Conversion(NAME)
    for key, value in ckpt['state_dict'].items():
        if not key.startswith(PREFIX):
            raise UnknownKeyError(
                f'Lightning checkpoint: no place for key {key!r} in an MAE '
                f'(the MAE weights are under {PREFIX!r})'
            )
        conv.take(key, key[len(PREFIX) :], value)
    for key, value in ckpt.items():
        if key != 'state_dict':
            conv.drop(key, 'training state')
            conv.extras[key] = value
    model = read_model_meta(ckpt, 'the Lightning checkpoint')
    if model is not None:
        conv.grid = meta_grid(model) or _grid(ckpt)
        conv.extras['hf_config'] = hf_fields(model)
        return conv
    conv.grid = _grid(ckpt)
    # what a Hugging Face config.json would say and the weights do not hold (--to hf)
    hparams = ckpt.get('hyper_parameters') or {}
    said = {
        'num_attention_heads': hparams.get('num_heads'),
        'decoder_num_attention_heads': hparams.get('decoder_num_heads'),
        'mask_ratio': hparams.get('mask_ratio'),
        'norm_pix_loss': hparams.get('norm_pix'),
    }
    conv.extras['hf_config'] = {k: v for k, v in said.items() if v is not None}
    return conv


def from_core(state: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Import only: raises ValueError."""
    raise ValueError(f'cannot write the {NAME!r} format (import only)')
