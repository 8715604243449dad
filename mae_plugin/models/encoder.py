"""The MAE encoder: a timm VisionTransformer that only sees the visible patches."""

from __future__ import annotations

import torch
from lightly.models.utils import get_at_index
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn

from .attention import run_blocks
from .init import fill_sincos_pos_embed, init_linear_and_norm


class MaskedViTEncoder(nn.Module):
    """ViT encoder of MAE, wrapping (not copying) timm's ``VisionTransformer``.

    ``self.vit`` holds every weight under timm's own names, so a state dict of ``vit`` loads into
    ``timm.create_model('vit_base_patch16_224', num_classes=0)`` as it is. Position embeddings are
    the fixed 2-D sin-cos table (not trained); attention runs through timm's fused SDPA path (in
    fp32 on a CPU under bf16: ``attention.py``).

    Args:
        img_size: input size the position table is built for.
        patch_size: side of a square patch in pixels.
        in_chans: image channels.
        embed_dim: token width.
        depth: transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over ``embed_dim``.
        drop_path_rate: stochastic depth (0 for pretraining, as the official recipe).
        grad_checkpointing: recompute blocks in backward to save activation memory.
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
        grad_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f'img_size {img_size} is not divisible by patch_size {patch_size}')
        self.vit = VisionTransformer(
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            num_classes=0,
            global_pool='token',
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=True,
            class_token=True,
            drop_path_rate=drop_path_rate,
            weight_init='skip',
        )
        self.vit.pos_embed.requires_grad_(False)
        self.grad_checkpointing = grad_checkpointing
        self.init_weights()

    @property
    def patch_size(self) -> int:
        """Side of a square patch in pixels."""
        return self.vit.patch_embed.patch_size[0]

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid (h, w) of ``img_size``; L = h * w."""
        return tuple(self.vit.patch_embed.grid_size)

    @property
    def embed_dim(self) -> int:
        """Token width D."""
        return self.vit.embed_dim

    def init_weights(self) -> None:
        """Official MAE init: patch embedding like a Linear, cls token N(0, 0.02), sin-cos table."""
        fill_sincos_pos_embed(self.vit.pos_embed, self.grid_size)
        self.vit.apply(init_linear_and_norm)
        weight = self.vit.patch_embed.proj.weight
        nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
        nn.init.zeros_(self.vit.patch_embed.proj.bias)
        nn.init.normal_(self.vit.cls_token, std=0.02)

    def forward(self, images: Tensor, visible_ids: Tensor | None = None) -> Tensor:
        """Encode the visible patches.

        Args:
            images: (B, C, H, W) normalised images.
            visible_ids: (B, K) indices of the patches to keep; None keeps all L patches.

        Returns:
            (B, 1 + K, D) tokens after the final norm, the cls token first.
        """
        vit = self.vit
        patch_tokens = vit.patch_embed(images) + vit.pos_embed[:, 1:]  # (B, L, D)
        if visible_ids is not None:
            patch_tokens = get_at_index(patch_tokens, visible_ids)  # (B, K, D)
        cls_token = (vit.cls_token + vit.pos_embed[:, :1]).expand(patch_tokens.shape[0], -1, -1)
        tokens = torch.cat([cls_token, patch_tokens], dim=1)
        return vit.norm(run_blocks(vit.blocks, tokens, self.grad_checkpointing))


def pool_tokens(tokens: Tensor, pool: str = 'cls') -> Tensor:
    """Pool encoder tokens into one vector per image.

    Args:
        tokens: (B, 1 + L, D) encoder output, the cls token first.
        pool: ``'cls'`` takes the cls token, ``'avg'`` the mean of the patch tokens.

    Returns:
        (B, D) features.

    Raises:
        ValueError: ``pool`` is neither ``'cls'`` nor ``'avg'``.
    """
    if pool == 'cls':
        return tokens[:, 0]
    if pool == 'avg':
        return tokens[:, 1:].mean(dim=1)
    raise ValueError(f"pool must be 'cls' or 'avg', got {pool!r}")
