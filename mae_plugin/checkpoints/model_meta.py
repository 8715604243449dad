"""What a trained MAE is, beyond its weights, as plain data in its checkpoints.

The weights hold the widths, depths and patch size, but not the head counts, the mask ratio,
the norm-pix setting or the grid of the position tables. Training writes them (MMEngine:
``meta['mae_model']`` and ``meta['pos_embed_grid']``; Lightning: ``ckpt['mae_model']``) so
that a converter fills a Hugging Face ``config.json`` without flags and a table is resampled
from its own grid. Plain ints, floats, bools and lists: read with ``weights_only=True``, never
executed.
"""

from __future__ import annotations

from typing import Any

from torch import nn

MODEL_META_KEY = 'mae_model'
GRID_META_KEY = 'pos_embed_grid'  # in a plugin checkpoint's ``meta``: [h, w] of its tables
_INTS = ('patch_size', 'embed_dim', 'depth', 'num_heads')
_DECODER_INTS = ('decoder_embed_dim', 'decoder_depth', 'decoder_num_heads')


def _heads(blocks: nn.Module) -> int | None:
    first = next(iter(blocks), None)
    return int(first.attn.num_heads) if first is not None else None


def model_meta(mae: nn.Module) -> dict[str, Any]:
    """Sizes and settings of a core ``MaskedAutoencoder`` the weights do not say, as plain data.

    Returns ``img_size`` [H, W], ``patch_size``, ``embed_dim``, ``depth``, ``num_heads``,
    ``decoder_embed_dim``, ``decoder_depth``, ``decoder_num_heads``, ``mask_ratio``, ``norm_pix``.
    """
    grid, patch = mae.encoder.grid_size, int(mae.patch_size)
    vit, dec = mae.encoder.vit, mae.decoder
    return {
        'img_size': [int(grid[0]) * patch, int(grid[1]) * patch],
        'patch_size': patch,
        'embed_dim': int(vit.embed_dim),
        'depth': len(vit.blocks),
        'num_heads': _heads(vit.blocks),
        'decoder_embed_dim': int(dec.embed.out_features),
        'decoder_depth': len(dec.blocks),
        'decoder_num_heads': _heads(dec.blocks),
        'mask_ratio': float(mae.mask_ratio),
        'norm_pix': bool(mae.loss.norm_pix),
    }


def grid_from_meta(meta: Any) -> tuple[int, int] | None:
    """The [h, w] a checkpoint's ``meta`` records under :data:`GRID_META_KEY`, or None."""
    if not isinstance(meta, dict) or GRID_META_KEY not in meta:
        return None
    value = meta[GRID_META_KEY]
    if not (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise ValueError(
            f"meta['{GRID_META_KEY}'] must be [h, w] (two positive ints), got {value!r}"
        )
    return int(value[0]), int(value[1])


def _check(meta: dict[str, Any], where: str) -> None:
    def bad(field: str) -> ValueError:
        return ValueError(f'{where}[{field!r}] = {meta[field]!r} is not a valid value')

    for field in _INTS + _DECODER_INTS:
        value = meta.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad(field)
    if 'norm_pix' in meta and not isinstance(meta['norm_pix'], bool):
        raise bad('norm_pix')
    ratio = meta.get('mask_ratio')
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))):
        raise bad('mask_ratio')
    size = meta.get('img_size')
    if size is not None and not (
        isinstance(size, (list, tuple))
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise bad('img_size')


def read_model_meta(container: Any, where: str) -> dict[str, Any] | None:
    """``container[MODEL_META_KEY]`` checked, or None when absent.

    Raises:
        ValueError: naming ``where``, the field and the value.
    """
    if not isinstance(container, dict) or MODEL_META_KEY not in container:
        return None
    meta = container[MODEL_META_KEY]
    where = f'{where}[{MODEL_META_KEY!r}]'
    if not isinstance(meta, dict):
        raise ValueError(f'{where} must be a dict of plain values, got {type(meta).__name__}')
    _check(meta, where)
    return meta


def hf_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The Hugging Face ``config.json`` fields ``meta`` says, under their Hugging Face names.

    Head counts, mask ratio, norm-pix.
    """
    said = {
        'num_attention_heads': meta.get('num_heads'),
        'decoder_num_attention_heads': meta.get('decoder_num_heads'),
        'mask_ratio': meta.get('mask_ratio'),
        'norm_pix_loss': meta.get('norm_pix'),
    }
    return {k: v for k, v in said.items() if v is not None}


def meta_grid(meta: dict[str, Any]) -> tuple[int, int] | None:
    """Patch grid (h, w) of ``meta``'s ``img_size`` over its ``patch_size``, or None."""
    size, patch = meta.get('img_size'), meta.get('patch_size')
    if size is None or not patch or size[0] % patch or size[1] % patch:
        return None
    return size[0] // patch, size[1] // patch
