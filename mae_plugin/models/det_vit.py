"""The MAE ViT as a ViTDet detection backbone, and ViTDet's simple feature pyramid.

ViTDet (Li et al. 2022) is the plain ViT with windowed attention (window 14) in all blocks but
a few global ones, decomposed relative position embeddings (zero-initialised, interpolated to
the feature size) and drop path. timm implements exactly this as ``VisionTransformerSAM`` (SAM's
image encoder is ViTDet's backbone) with the ViT key names, so MAE weights load by name; only
the position table changes layout, (1, 1 + N, D) -> (1, H, W, D) without the cls entry. Inputs
off the patch grid are zero-padded right and bottom (mmdet's preprocessors usually pad to 32).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from timm.layers import Format, LayerNorm2d, PatchEmbed
from timm.models.vision_transformer_sam import VisionTransformerSAM
from torch import Tensor, nn

# ViTDet's global-attention blocks per size (the other blocks attend within 14 x 14 windows).
GLOBAL_BLOCKS = {12: (2, 5, 8, 11), 24: (5, 11, 17, 23), 32: (7, 15, 23, 31)}


class ViTDetBackbone(nn.Module):
    """timm's ``VisionTransformerSAM`` without its neck: (B, 3, H, W) -> (B, D, H/p, W/p).

    Args:
        img_size: input the absolute position table is built for (1024 in the recipe).
        patch_size: side of a square patch in pixels.
        embed_dim: token width D.
        depth: transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over ``embed_dim``.
        window_size: side of the attention windows.
        global_blocks: blocks with global attention; None takes ViTDet's for the depth.
        use_rel_pos: decomposed relative position embeddings in every block.
        drop_path_rate: stochastic depth of the last block (linear in depth before it).
        grad_checkpointing: recompute blocks in backward (activation memory).
    """

    def __init__(
        self,
        img_size: int = 1024,
        patch_size: int = 16,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        window_size: int = 14,
        global_blocks: Sequence[int] | None = None,
        use_rel_pos: bool = True,
        drop_path_rate: float = 0.1,
        grad_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if global_blocks is None:
            if depth not in GLOBAL_BLOCKS:
                raise ValueError(
                    f'no ViTDet global blocks known for depth {depth}; pass '
                    f'global_blocks (known depths: {sorted(GLOBAL_BLOCKS)})'
                )
            global_blocks = GLOBAL_BLOCKS[depth]
        self.vit = VisionTransformerSAM(
            img_size=img_size,
            patch_size=patch_size,
            num_classes=0,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=True,
            drop_path_rate=drop_path_rate,
            use_abs_pos=True,
            use_rel_pos=use_rel_pos,
            window_size=window_size,
            global_attn_indexes=tuple(global_blocks),
            neck_chans=0,
            global_pool='',
            norm_layer=partial(nn.LayerNorm, eps=1e-6),  # timm's default is 1e-5
            embed_layer=partial(
                PatchEmbed, output_fmt=Format.NHWC, strict_img_size=False, dynamic_img_pad=True
            ),  # timm's, padding right/bottom to the patch grid instead of asserting
        )
        self.vit.neck = nn.Identity()  # timm puts a LayerNorm2d here; ViTDet has no final norm
        self.vit.set_grad_checkpointing(grad_checkpointing)
        self.global_blocks = tuple(global_blocks)

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid (h, w) of ``img_size``, the grid of the absolute position table."""
        return tuple(self.vit.patch_embed.grid_size)

    @property
    def embed_dim(self) -> int:
        """Token width D, the channels of the output map."""
        return self.vit.embed_dim

    @property
    def new_keys(self) -> tuple[str, ...]:
        """State-dict globs (of ``vit``) an MAE encoder does not provide."""
        return ('blocks.*.attn.rel_pos_h', 'blocks.*.attn.rel_pos_w')

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """MAE encoder keys with no place in ViTDet: the cls token and the final norm."""
        return ('cls_token', 'norm.*')

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) float -> (B, D, h, w) map, (h, w) = (ceil(H/p), ceil(W/p))."""
        return self.vit.forward_features(images)


class SimpleFeaturePyramid(nn.Module):
    """ViTDet's simple feature pyramid, built from the backbone's last map alone.

    Strides 4, 8, 16, 32 come by up-sampling (2x2 transposed convs, LayerNorm + GELU between
    two), identity or max-pooling; each level then gets a 1x1 and a 3x3 conv with channel
    LayerNorm; a stride-64 level comes by pooling stride 32.

    Args:
        in_channels: channels of the backbone map (the ViT width).
        out_channels: channels of every pyramid level (256).
        num_outs: 4 (P2-P5) or 5 (with P6).
        in_stride: stride of the backbone map, the ViT's patch size (16 for ViTDet; a patch-8
            ViT, as the demo's, gets one more halving per level instead of one up-sampling).
    """

    def __init__(
        self,
        in_channels: int = 768,
        out_channels: int = 256,
        num_outs: int = 5,
        in_stride: int = 16,
    ) -> None:
        super().__init__()
        if num_outs not in (4, 5):
            raise ValueError(f'num_outs must be 4 or 5, got {num_outs}')
        if in_stride not in (4, 8, 16, 32):
            raise ValueError(f'in_stride must be 4, 8, 16 or 32, got {in_stride}')
        self.rescale = nn.ModuleList()
        self.output = nn.ModuleList()
        for stride in (4, 8, 16, 32):
            rescale, width = _rescale(in_channels, in_stride / stride)
            self.rescale.append(rescale)
            self.output.append(
                nn.Sequential(
                    nn.Conv2d(width, out_channels, 1, bias=False),
                    LayerNorm2d(out_channels),
                    nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                    LayerNorm2d(out_channels),
                )
            )
        self.num_outs = num_outs

    def forward(self, feature: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Build the pyramid.

        Args:
            feature: (B, C, h, w) backbone map at ``in_stride``, or a sequence whose last
                entry is that map.

        Returns:
            ``num_outs`` maps (B, out_channels, H/s, W/s) at strides s = 4, 8, 16, 32 (and 64)
            of the (H, W) input image.
        """
        if not torch.is_tensor(feature):
            feature = feature[-1]
        outs = [
            out(rescale(feature)) for rescale, out in zip(self.rescale, self.output, strict=True)
        ]
        if self.num_outs == 5:
            outs.append(nn.functional.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


def _rescale(channels: int, factor: float) -> tuple[nn.Module, int]:
    """ViTDet's scale op for one level and the channels it leaves."""
    if factor == 4:
        return nn.Sequential(
            nn.ConvTranspose2d(channels, channels // 2, 2, stride=2),
            LayerNorm2d(channels // 2),
            nn.GELU(),
            nn.ConvTranspose2d(channels // 2, channels // 4, 2, stride=2),
        ), channels // 4
    if factor == 2:
        return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2), channels // 2
    if factor == 1:
        return nn.Identity(), channels
    return nn.MaxPool2d(int(1 / factor), stride=int(1 / factor)), channels
