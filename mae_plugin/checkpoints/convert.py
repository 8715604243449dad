"""Convert a checkpoint between formats, accounting for every key."""

from __future__ import annotations

import os
from typing import Any

from .core import DECODER, ENCODER, Conversion
from .files import hf_writes_folder, write_checkpoint
from .formats import from_core, to_core
from .hf_config import build_config
from .resample import resample_table, table_grid
from .safe_load import load_checkpoint_file
from .shapes import check_shapes


def _grid_of(img_size: tuple[int, int], patch: int, what: str) -> tuple[int, int]:
    """Patch grid (h, w) of an (H, W) input; ValueError unless ``patch`` divides both."""
    if img_size[0] % patch or img_size[1] % patch:
        raise ValueError(
            f"{what} {tuple(img_size)} is not divisible by the checkpoint's patch size {patch}"
        )
    return img_size[0] // patch, img_size[1] // patch


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
) -> Conversion:
    """Read ``src`` (format ``fmt`` or detected), write ``dst`` in format ``to``.

    ``img_size`` (H, W) resamples the position tables to the patch grid of that input size (the
    patch size is read off the patch embedding). The grid the tables have is ``src_img_size``'s,
    else the one the file records, else ``img_size``'s when the token count fits it, else the
    square one; a non-square table of unknown grid is an error. A plugin output records its grid
    in ``meta``. ``keep_optimizer`` (plugin -> plugin only) keeps optimizer, schedulers and the
    rest. Returns the conversion, whose ``report()`` lists what was used, dropped and resampled.

    ``src`` may be a Hugging Face folder; ``dst`` ending in ``.safetensors`` is written as
    safetensors (formats of flat tensor dicts: timm, hf, lightly). ``to='hf'`` writes a folder
    (config.json + model.safetensors) unless ``dst`` ends in .safetensors/.pth/.pt/.bin (the
    weights alone); the folder's config takes what the weights do not hold from
    ``norm_pix``, ``mask_ratio``, ``num_heads``, ``decoder_num_heads``, else from the source's
    config (see ``hf_config.py``).
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
    conv = to_core(load_checkpoint_file(src), fmt)
    if keep_optimizer and (conv.format != 'plugin' or to != 'plugin'):
        raise ValueError(
            '--keep-optimizer only applies to plugin -> plugin: other formats keep '
            'optimizer state in their own parameter order'
        )
    patch = conv.state[ENCODER + 'patch_embed.proj.weight'].shape[-1]
    target = _grid_of(img_size, patch, 'image size') if img_size is not None else None
    given = _grid_of(src_img_size, patch, 'source image size') if src_img_size else None
    if given is not None and conv.grid is not None and given != conv.grid:
        raise ValueError(
            f'--src-img-size gives a {given[0]}x{given[1]} grid but {src!r} records '
            f'{conv.grid[0]}x{conv.grid[1]}'
        )
    hint = (
        'Give the input size the table was made for with --src-img-size H W '
        '(convert_checkpoint(src_img_size=(H, W))).'
    )
    grid = table_grid(
        conv.state[ENCODER + 'pos_embed'], ENCODER + 'pos_embed', given or conv.grid, target, hint
    )
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
    kwargs: dict[str, Any] = dict(extras=conv.extras, keep_optimizer=keep_optimizer, grid=grid)
    out = from_core(conv.state, to, **kwargs)
    config = None
    if to == 'hf' and hf_writes_folder(dst):
        config, notes = build_config(conv.state, grid, conv.extras.get('hf_config'), **hf_options)
        conv.notes += notes
    write_checkpoint(out, dst, to, config)  # a failed write leaves dst as it was
    return conv
