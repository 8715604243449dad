"""Check every tensor of a core state against the architecture its weights imply.

A file-to-file conversion has no target model, so the architecture (patch size, width, depth,
MLP ratio, grid; decoder width and depth) is read off the weights, built on the ``meta`` device
(no memory, no init cost) from timm's own modules, and every key and shape compared.
"""

from __future__ import annotations

import re

import torch
from timm.models.vision_transformer import Block, VisionTransformer
from torch import Tensor, nn

from .core import DECODER, ENCODER


def _depth(keys, prefix: str) -> int:
    found = {int(m.group(1)) for k in keys if (m := re.match(re.escape(prefix) + r'(\d+)\.', k))}
    return max(found) + 1 if found else 0


def expected_shapes(state: dict[str, Tensor], grid: tuple[int, int]) -> dict[str, torch.Size]:
    """Shapes an MAE with the architecture implied by ``state`` would have, under core keys."""
    proj = state[ENCODER + 'patch_embed.proj.weight']
    dim, chans, patch = proj.shape[0], proj.shape[1], proj.shape[-1]
    depth = _depth(state, ENCODER + 'blocks.')
    mlp = state[ENCODER + 'blocks.0.mlp.fc1.weight'].shape[0] / dim if depth else 4.0
    with torch.device('meta'):
        vit = VisionTransformer(
            img_size=(grid[0] * patch, grid[1] * patch),
            patch_size=patch,
            in_chans=chans,
            embed_dim=dim,
            depth=depth,
            num_heads=1,
            mlp_ratio=mlp,
            num_classes=0,
            weight_init='skip',
        )
    shapes = {ENCODER + k: v.shape for k, v in vit.state_dict().items()}
    if DECODER + 'embed.weight' in state:
        dec_dim = state[DECODER + 'embed.weight'].shape[0]
        dec_depth = _depth(state, DECODER + 'blocks.')
        dec_mlp = (
            state[DECODER + 'blocks.0.mlp.fc1.weight'].shape[0] / dec_dim if dec_depth else 4.0
        )
        with torch.device('meta'):
            dec = nn.ModuleDict(
                dict(
                    embed=nn.Linear(dim, dec_dim),
                    blocks=nn.Sequential(
                        *[Block(dec_dim, 1, dec_mlp, qkv_bias=True) for _ in range(dec_depth)]
                    ),
                    norm=nn.LayerNorm(dec_dim),
                    pred=nn.Linear(dec_dim, patch * patch * chans),
                )
            )
        shapes.update({DECODER + k: v.shape for k, v in dec.state_dict().items()})
        shapes[DECODER + 'mask_token'] = torch.Size([1, 1, dec_dim])
        shapes[DECODER + 'pos_embed'] = torch.Size([1, 1 + grid[0] * grid[1], dec_dim])
    return shapes


def check_shapes(state: dict[str, Tensor], grid: tuple[int, int]) -> None:
    """ValueError listing every missing, unexpected or mis-shaped tensor of ``state``."""
    expected = expected_shapes(state, grid)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(
        f'{k}: {tuple(state[k].shape)} vs {tuple(v)}'
        for k, v in expected.items()
        if k in state and state[k].shape != v
    )
    problems = [
        f'{title}: {", ".join(keys[:8])}' + (', ...' if len(keys) > 8 else '')
        for title, keys in (
            ('missing', missing),
            ('unexpected', unexpected),
            ('inconsistent shapes', wrong),
        )
        if keys
    ]
    if problems:
        raise ValueError('the checkpoint is not a consistent MAE: ' + '; '.join(problems))
