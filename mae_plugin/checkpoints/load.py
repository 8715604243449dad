"""One loader for every consumer: the MAE itself and encoder-only models.

Encoder-only models are classifiers, detection and segmentation backbones. Strict about keys
and shapes, resamples position tables to the target grid, and reports what it loaded, dropped,
resampled and left new.

The top of the read path, which it walks once, downwards: the container reader
(``containers/read.py``) gives a plain dict, detection (``detect.py``) hands it to its format
(``formats/<name>.py``) for core keys, ``resample.py`` fits the position tables to the model.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from timm.layers import resample_patch_embed
from torch import Tensor, nn

from .containers.read import load_checkpoint_file
from .core import DECODER, ENCODER, Conversion
from .detect import to_core
from .resample import grid_of_size, resample_table, table_grid


@dataclass
class LoadReport:
    """What a load did, for logs and tests."""

    source: str
    conversion: Conversion
    loaded: list[str] = field(default_factory=list)  # target keys
    left_new: list[str] = field(default_factory=list)  # target keys not in the checkpoint

    @property
    def format(self) -> str:
        """The format the checkpoint was read in."""
        return self.conversion.format

    @property
    def dropped(self) -> list[str]:
        """The source keys not loaded (the conversion says why)."""
        return sorted(self.conversion.dropped)

    @property
    def resampled(self) -> list[str]:
        """What was resampled, from which grid or size to which."""
        return self.conversion.resampled

    def summary(self) -> str:
        """One line for the log: counts, dropped keys, resampling, notes, tensors left new."""
        text = (
            f'loaded {len(self.loaded)} tensors from {self.source!r} ({self.format} format)'
            f'; dropped {len(self.dropped)}'
        )
        if self.dropped:
            text += f' ({", ".join(self.dropped[:5])}{", ..." if len(self.dropped) > 5 else ""})'
        if self.resampled:
            text += '; resampled ' + '; '.join(self.resampled)
        if self.conversion.notes:
            text += '; ' + '; '.join(self.conversion.notes)
        if self.left_new:
            text += (
                f'; {len(self.left_new)} tensors are not in the file and stay freshly '
                f'initialised ({", ".join(self.left_new[:4])}'
                f'{", ..." if len(self.left_new) > 4 else ""})'
            )
        return text


def read_checkpoint(
    checkpoint: str | os.PathLike | dict[str, Any], fmt: str | None = None
) -> tuple[str, Conversion]:
    """Read a checkpoint path, or an already loaded dict, into core keys.

    Returns:
        ``(source name, conversion)``; the name is the path, or ``'<dict>'``.
    """
    if isinstance(checkpoint, dict):
        return '<dict>', to_core(checkpoint, fmt)
    return os.fspath(checkpoint), to_core(load_checkpoint_file(checkpoint), fmt)


def _copy_strict(
    source: str,
    conv: Conversion,
    target: dict[str, Tensor],
    incoming: dict[str, Tensor],
    required: Sequence[str],
) -> list[str]:
    unexpected = sorted(k for k in incoming if k not in target)
    missing = sorted(k for k in required if k not in incoming)
    wrong = sorted(
        f'{k}: file {tuple(v.shape)} vs model {tuple(target[k].shape)}'
        for k, v in incoming.items()
        if k in target and v.shape != target[k].shape
    )
    problems = [
        f'{title} ({len(keys)}): {", ".join(keys[:8])}' + (', ...' if len(keys) > 8 else '')
        for title, keys in (
            ('missing keys', missing),
            ('keys the model does not have', unexpected),
            ('shape mismatches', wrong),
        )
        if keys
    ]
    if problems:
        raise ValueError(
            f'checkpoint {source!r} ({conv.format} format) does not fit this model '
            '(another architecture?): ' + '; '.join(problems)
        )
    with torch.no_grad():
        for key, value in incoming.items():
            target[key].copy_(value)
    return sorted(incoming)


def _source_grid(
    source: str, conv: Conversion, src_img_size: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Grid of the checkpoint's position tables, once for both tables.

    See :func:`~.resample.table_grid`; None when the file has no encoder table.
    """
    key = ENCODER + 'pos_embed'
    if key not in conv.state:
        return None
    patch = conv.state[ENCODER + 'patch_embed.proj.weight'].shape[-1]
    given = grid_of_size(tuple(src_img_size), patch, 'src_img_size') if src_img_size else None
    hint = (
        'src_img_size=(H, W) (load_mae_weights, load_encoder_weights), or record it in the '
        'file: python tools/convert_checkpoint.py IN OUT --to plugin --src-img-size H W'
    )
    try:
        return table_grid(conv, key, given, hint)
    except ValueError as err:
        raise ValueError(f'checkpoint {source!r}: {err}') from None


def _resample_to(
    conv: Conversion, key: str, grid: tuple[int, int], source: tuple[int, int] | None
) -> None:
    """Resample table ``key`` of ``conv`` (if present) from ``source`` to the model's ``grid``."""
    if key in conv.state and source is not None:
        resample_table(conv, key, grid, source)


def load_mae_weights(
    mae: nn.Module,
    checkpoint: str | os.PathLike | dict[str, Any],
    fmt: str | None = None,
    src_img_size: tuple[int, int] | None = None,
) -> LoadReport:
    """Load a checkpoint of any known format into a ``MaskedAutoencoder``, strictly.

    Every encoder tensor is required; the decoder may be absent as a whole (encoder-only
    release: it stays freshly initialised) but not in part. Position tables are resampled to
    the model's grid.

    Args:
        mae: the core ``MaskedAutoencoder`` to load into.
        checkpoint: a file, a Hugging Face folder, or a dict already read.
        fmt: the format's name; None detects it.
        src_img_size: (H, W) input size the file's position tables were made for, when the
            file does not record it (a square grid is assumed otherwise, and the report says
            so).

    Returns:
        What was loaded, dropped, resampled and left new.

    Raises:
        ValueError: missing or unexpected keys, or shape mismatches (each listed), or a table
            grid that cannot be told.
        CorruptCheckpointError: the file is damaged or not a checkpoint.
        UnsafeCheckpointError: the file would run code when loaded.
    """
    source, conv = read_checkpoint(checkpoint, fmt)
    grid = _source_grid(source, conv, src_img_size)
    _resample_to(conv, ENCODER + 'pos_embed', mae.encoder.grid_size, grid)
    _resample_to(conv, DECODER + 'pos_embed', mae.decoder.grid_size, grid)
    target = mae.state_dict()
    has_decoder = any(k.startswith(DECODER) for k in conv.state)
    required = [k for k in target if k.startswith(ENCODER) or has_decoder]
    loaded = _copy_strict(source, conv, target, conv.state, required)
    left_new = [] if has_decoder else sorted(k for k in target if k.startswith(DECODER))
    said = conv.extras.get('hf_config', {}).get('norm_pix_loss')
    if has_decoder and isinstance(said, bool) and said != mae.loss.norm_pix:
        conv.notes.append(
            f'its config.json says norm_pix_loss={said}, this model scores and '
            f'shows predictions with norm_pix={mae.loss.norm_pix} (init_model('
            f'..., norm_pix={said}) matches the file)'
        )
    return LoadReport(source, conv, loaded, left_new)


def load_encoder_weights(
    vit: nn.Module,
    checkpoint: str | os.PathLike | dict[str, Any],
    grid_size: tuple[int, int],
    fmt: str | None = None,
    new_ok: Sequence[str] = (),
    prefix: str = '',
    unused_ok: Sequence[str] = (),
    src_img_size: tuple[int, int] | None = None,
) -> LoadReport:
    """Load the MAE encoder of ``checkpoint`` into a module with timm ViT names, strictly.

    The target is a classifier or a dense-prediction backbone. The decoder is dropped; any
    missing or unexpected key other than those ``new_ok`` and ``unused_ok`` allow is an error.

    Args:
        vit: the module to load into.
        checkpoint: a file, a Hugging Face folder, or a dict already read.
        grid_size: the patch grid (h, w) of ``vit``'s position table.
        fmt: the format's name; None detects it.
        new_ok: globs of target keys that may be absent (relative position tables, heads,
            ...); they are reported as left new.
        prefix: where the timm names start in ``vit``'s state dict.
        unused_ok: globs of encoder keys (timm names) with no place in ``vit`` (the final norm
            of an average-pooling classifier); they are dropped and reported.
        src_img_size: as in :func:`load_mae_weights`.

    Returns:
        What was loaded, dropped, resampled and left new.

    Raises:
        ValueError: missing or unexpected keys, or shape mismatches (each listed), or a table
            grid that cannot be told.
        CorruptCheckpointError: the file is damaged or not a checkpoint.
        UnsafeCheckpointError: the file would run code when loaded.
    """
    source, conv = read_checkpoint(checkpoint, fmt)
    grid = _source_grid(source, conv, src_img_size)
    _resample_to(conv, ENCODER + 'pos_embed', tuple(grid_size), grid)
    incoming = {}
    for key, value in conv.state.items():
        name = key[len(ENCODER) :]  # meaningful for encoder keys only
        if not key.startswith(ENCODER):
            conv.drop(key, 'MAE decoder, not part of an encoder')
        elif any(fnmatch.fnmatch(name, pattern) for pattern in unused_ok):
            conv.drop(key, 'no place in this model')
        else:
            incoming[prefix + name] = value
    target = vit.state_dict()
    patch_key = prefix + 'patch_embed.proj.weight'
    if (
        patch_key in incoming
        and patch_key in target
        and incoming[patch_key].shape[-2:] != target[patch_key].shape[-2:]
    ):
        # ViTDet's ViT-H: the 14 x 14 patch filter of MAE-H resampled to 16 x 16 (FlexiViT)
        old = tuple(incoming[patch_key].shape[-2:])
        incoming[patch_key] = resample_patch_embed(
            incoming[patch_key], list(target[patch_key].shape[-2:])
        )
        conv.resampled.append(f'{patch_key}: {old} -> {tuple(target[patch_key].shape[-2:])}')
    pos_key = prefix + 'pos_embed'
    if pos_key in incoming and pos_key in target and target[pos_key].ndim == 4:
        # ViTDet/SAM layout (1, H, W, D) without the cls entry
        _, h, w, _ = target[pos_key].shape
        incoming[pos_key] = incoming[pos_key][:, 1:].reshape(1, h, w, -1)
        conv.resampled.append(f'{pos_key}: cls entry dropped, laid out as (1, {h}, {w}, D)')
    new = sorted(
        k
        for k in target
        if k not in incoming and any(fnmatch.fnmatch(k, pattern) for pattern in new_ok)
    )
    required = [k for k in target if k not in new]
    loaded = _copy_strict(source, conv, target, incoming, required)
    return LoadReport(source, conv, loaded, new)
