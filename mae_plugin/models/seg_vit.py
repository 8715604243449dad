"""The MAE ViT as a semantic-segmentation backbone (the paper's ADE20K UperNet transfer).

As the BEiT segmentation code the paper follows: every block gets its own relative position bias
(zero-initialised, so training starts from the pretrained attention), optional layer scale, drop
path, no final norm, and the patch tokens of a few blocks come out as (B, D, H/p, W/p) maps for a
pyramid neck. The ViT is timm's ``VisionTransformer``, so MAE encoder weights load by name; the
bias goes to attention as SDPA's additive mask (fused path kept). Inputs of any size: as mmseg's
ViT, zeros pad the right and bottom up to the patch grid (timm's ``dynamic_img_pad``); the position
table and the bias tables are resampled to that grid when it differs from ``img_size``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from timm.layers import resample_abs_pos_embed, resize_rel_pos_bias_table, to_2tuple
from timm.models.beit import gen_relative_position_index
from timm.models.vision_transformer import Block, VisionTransformer
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


class RelativePositionBias(nn.Module):
    """BEiT's relative position bias for an (h, w) patch grid plus the cls token.

    ``relative_position_bias_table`` holds (2h-1)(2w-1) patch offsets + 3 cls entries per head,
    zeros at init. ``forward(grid)`` gives the (heads, 1 + h'w', 1 + h'w') bias, the table
    interpolated when ``grid`` differs from the one it was built for.
    """

    def __init__(self, grid_size: tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self.grid_size = tuple(grid_size)
        h, w = self.grid_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * h - 1) * (2 * w - 1) + 3, num_heads)
        )
        self.register_buffer(
            'relative_position_index', gen_relative_position_index(self.grid_size), persistent=False
        )

    def forward(self, grid_size: tuple[int, int] | None = None) -> Tensor:
        """The bias for a patch grid, interpolated when it differs from the table's.

        Args:
            grid_size: patch grid (h', w') of the input; None for the table's own.

        Returns:
            (heads, 1 + h'w', 1 + h'w') float additive attention bias.
        """
        table, index = self.relative_position_bias_table, self.relative_position_index
        grid_size = tuple(grid_size or self.grid_size)
        if grid_size != self.grid_size:
            h, w = grid_size
            table = resize_rel_pos_bias_table(
                table,
                new_window_size=grid_size,
                new_bias_shape=((2 * h - 1) * (2 * w - 1) + 3, table.shape[1]),
                old_window_size=self.grid_size,
            )
            index = gen_relative_position_index(grid_size, device=table.device)
        tokens = index.shape[0]
        return table[index.view(-1)].view(tokens, tokens, -1).permute(2, 0, 1)


class RelPosBiasBlock(Block):
    """timm's ``Block`` that owns its relative position bias (``rel_pos_bias``).

    The forward is ``Block``'s: the backbone passes ``rel_pos_bias(grid)`` as SDPA's additive
    ``attn_mask``.

    Args:
        *args: as timm's ``Block`` (``VisionTransformer`` passes them as ``block_fn``).
        grid_size: patch grid (h, w) the bias table is built for.
        **kwargs: as timm's ``Block``.
    """

    def __init__(self, *args: Any, grid_size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rel_pos_bias = RelativePositionBias(grid_size, self.attn.num_heads)


class RelPosViTBackbone(nn.Module):
    """A timm ViT with per-block relative position bias that returns multi-block feature maps.

    Args:
        img_size: training crop the tables are built for (other sizes are resampled).
        patch_size: side of a square patch in pixels.
        embed_dim: token width D.
        depth: transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over ``embed_dim``.
        drop_path_rate: stochastic depth of the last block (linear in depth before it).
        out_indices: blocks whose outputs are returned, e.g. (3, 5, 7, 11) for ViT-B.
        rel_pos_bias: add the per-block bias (BEiT-style).
        layer_scale_init: layer scale init value (None: no layer scale).
        grad_checkpointing: recompute blocks in backward.
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] = 512,
        patch_size: int = 16,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
        out_indices: Sequence[int] = (3, 5, 7, 11),
        rel_pos_bias: bool = True,
        layer_scale_init: float | None = None,
        grad_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if any(not 0 <= i < depth for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must lie in [0, {depth})')
        grid_size = tuple(s // patch_size for s in to_2tuple(img_size))
        self.vit = VisionTransformer(
            img_size=img_size,
            patch_size=patch_size,
            num_classes=0,
            global_pool='',
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=True,
            init_values=layer_scale_init,
            drop_path_rate=drop_path_rate,
            final_norm=False,
            dynamic_img_size=True,
            dynamic_img_pad=True,  # pad right/bottom to the patch grid, as mmseg's ViT
            block_fn=partial(RelPosBiasBlock, grid_size=grid_size) if rel_pos_bias else Block,
        )
        self.use_rel_pos_bias = rel_pos_bias
        self.out_indices = tuple(out_indices)
        self.grad_checkpointing = grad_checkpointing

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid (h, w) of ``img_size``, the grid the tables are built for."""
        return tuple(self.vit.patch_embed.grid_size)

    @property
    def new_keys(self) -> tuple[str, ...]:
        """State-dict globs (of ``vit``) an MAE encoder does not provide."""
        return ('blocks.*.rel_pos_bias.*', 'blocks.*.ls1.*', 'blocks.*.ls2.*')

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """MAE encoder keys with no place here: the final norm (BEiT's segmentation has none)."""
        return ('norm.*',)

    def forward(self, images: Tensor) -> list[Tensor]:
        """(B, 3, H, W) float -> one (B, D, ceil(H/p), ceil(W/p)) map per ``out_indices`` entry."""
        vit = self.vit
        patches = vit.patch_embed(images)  # (B, h, w, D), zero-padded to the grid
        batch, h, w, dim = patches.shape
        pos = vit.pos_embed
        if (h, w) != self.grid_size:
            pos = resample_abs_pos_embed(pos, (h, w), old_size=self.grid_size, num_prefix_tokens=1)
        x = torch.cat(
            [
                (vit.cls_token + pos[:, :1]).expand(batch, -1, -1),
                patches.flatten(1, 2) + pos[:, 1:],
            ],
            dim=1,
        )
        feats: dict[int, Tensor] = {}
        for i, block in enumerate(vit.blocks[: max(self.out_indices) + 1]):
            bias = block.rel_pos_bias((h, w))[None] if self.use_rel_pos_bias else None
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, bias, use_reentrant=False)
            else:
                x = block(x, attn_mask=bias)
            if i in self.out_indices:
                feats[i] = x[:, 1:].transpose(1, 2).reshape(batch, dim, h, w)
        return [feats[i] for i in self.out_indices]
