"""Convert a checkpoint between formats, accounting for every key."""

from __future__ import annotations

import os
from typing import Any

from .containers.read import load_checkpoint_file
from .core import DECODER, ENCODER, Conversion
from .detect import from_core, to_core
from .formats import lightly
from .hf_config import build_config
from .resample import grid_of_size, resample_table, table_grid
from .shapes import check_shapes
from .write import hf_writes_folder, write_checkpoint


def _check_paths(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """ValueError when writing ``dst`` would replace ``src`` or a file in it (folders)."""
    real_src, real_dst = os.path.realpath(src), os.path.realpath(dst)
    if real_src == real_dst:
        raise ValueError(
            f'the output {os.fspath(dst)!r} is the input {os.fspath(src)!r} '
            f'({real_src!r}): converting in place would replace the '
            'source; write to another path'
        )
    for outer, inner in ((real_src, real_dst), (real_dst, real_src)):
        if inner.startswith(outer.rstrip(os.sep) + os.sep):
            raise ValueError(
                f'the output {os.fspath(dst)!r} and the input {os.fspath(src)!r} '
                f'lie one inside the other ({inner!r} is in {outer!r}): the '
                'write could replace the source; write to another path'
            )


def convert_checkpoint(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    to: str,
    fmt: str | None = None,
    img_size: tuple[int, int] | None = None,
    keep_optimizer: bool = False,
    src_img_size: tuple[int, int] | None = None,
    norm_pix: bool | None = None,
    mask_ratio: float | None = None,
    num_heads: int | None = None,
    decoder_num_heads: int | None = None,
    lightly_head_classes: int | None = None,
) -> Conversion:
    """Read ``src`` (format ``fmt`` or detected), write ``dst`` in format ``to``.

    ``dst`` ending in ``.safetensors`` is written as safetensors (formats of flat tensor dicts:
    timm, hf, lightly). ``to='hf'`` writes a folder (config.json + model.safetensors) unless
    ``dst`` ends in .safetensors/.pth/.pt/.bin (the weights alone); the folder's config takes
    what the weights do not hold from ``norm_pix``, ``mask_ratio``, ``num_heads``,
    ``decoder_num_heads``, else from the source's config (see ``hf_config.py``).

    Args:
        src: a checkpoint file or a Hugging Face folder.
        dst: the file or folder to write; it may not be ``src`` or lie inside it.
        to: the output format (one of ``WRITABLE``).
        fmt: the input format; None detects it.
        img_size: (H, W) input size to resample the position tables to (the patch size is
            read off the patch embedding). A plugin output records the new grid in ``meta``.
        keep_optimizer: plugin -> plugin only: keep optimizer, schedulers and the rest.
        src_img_size: (H, W) input size the tables were made for. Else the grid the file
            records, else the square one when the count is a square (a note of the report
            says so, never the grid of ``img_size``); any other count is an error.
        norm_pix: ``norm_pix_loss`` of a Hugging Face config.
        mask_ratio: ``mask_ratio`` of a Hugging Face config.
        num_heads: the encoder's head count in a Hugging Face config.
        decoder_num_heads: the decoder's head count in a Hugging Face config.
        lightly_head_classes: ``to='lightly'`` writes the layout of lightly's current MAE
            example with a zero classifier of this many classes (default 1000, 0 for none), so
            that the example module loads it with ``strict=True`` (``formats/lightly.py``).

    Returns:
        The conversion, whose ``report()`` lists what was used, dropped and resampled.

    Raises:
        ValueError: ``dst`` could replace ``src``, an option that does not apply to ``to``, an
            unknown or import-only format, or tensors that do not fit one architecture.
    """
    _check_paths(src, dst)
    hf_options = dict(
        norm_pix=norm_pix,
        mask_ratio=mask_ratio,
        num_heads=num_heads,
        decoder_num_heads=decoder_num_heads,
    )
    hf_given = sorted(k for k, v in hf_options.items() if v is not None)
    if hf_given and (to != 'hf' or not hf_writes_folder(dst)):
        raise ValueError(
            f'{hf_given} only apply to --to hf written as a folder (they go to its config.json)'
        )
    if lightly_head_classes is not None and (to != 'lightly' or lightly_head_classes < 0):
        raise ValueError(
            f'lightly_head_classes={lightly_head_classes} only applies to --to lightly '
            '(a class count >= 0)'
        )
    conv = to_core(load_checkpoint_file(src), fmt)
    if keep_optimizer and (conv.format != 'plugin' or to != 'plugin'):
        raise ValueError(
            '--keep-optimizer only applies to plugin -> plugin: other formats keep '
            'optimizer state in their own parameter order'
        )
    patch = conv.state[ENCODER + 'patch_embed.proj.weight'].shape[-1]
    target = grid_of_size(img_size, patch, 'image size') if img_size is not None else None
    given = grid_of_size(src_img_size, patch, 'source image size') if src_img_size else None
    hint = '--src-img-size H W (convert_checkpoint(src_img_size=(H, W)))'
    try:
        grid = table_grid(conv, ENCODER + 'pos_embed', given, hint)
    except ValueError as err:
        raise ValueError(f'{os.fspath(src)!r}: {err}') from None
    for key in (ENCODER + 'pos_embed', DECODER + 'pos_embed'):
        if key in conv.state:
            resample_table(conv, key, target or grid, grid)
    grid = target or grid
    has_decoder = any(k.startswith(DECODER) for k in conv.state)
    check_shapes(conv.state, grid)
    if to == 'timm' and has_decoder:
        for key in [k for k in conv.state if k.startswith(DECODER)]:
            conv.dropped[key] = 'MAE decoder, timm has no place for it'
            del conv.state[key]
    if to in ('official', 'lightly', 'plugin', 'hf') and not has_decoder:
        conv.dropped.setdefault('(decoder)', 'not in the source: the output is encoder-only')
    kwargs: dict[str, Any] = dict(
        extras=conv.extras,
        keep_optimizer=keep_optimizer,
        grid=grid,
        head_classes=lightly_head_classes,
    )
    out = from_core(conv.state, to, **kwargs)
    if to == 'lightly':
        conv.notes += lightly.written_notes(lightly_head_classes)
    config = None
    if to == 'hf' and hf_writes_folder(dst):
        config, notes = build_config(conv.state, grid, conv.extras.get('hf_config'), **hf_options)
        conv.notes += notes
    write_checkpoint(out, dst, to, config)  # a failed write leaves dst as it was
    return conv
