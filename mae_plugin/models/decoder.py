"""The MAE decoder: a narrow transformer that fills mask tokens and predicts pixels."""

from __future__ import annotations

from functools import partial

import torch
from lightly.models.utils import set_at_index
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from .attention import run_blocks
from .init import fill_sincos_pos_embed, init_linear_and_norm


class MAEPixelDecoder(nn.Module):
    """Lightweight MAE decoder (default 8 blocks x 512 dims x 16 heads).

    Attribute names are the official ones without the ``decoder_`` prefix (``embed``,
    ``mask_token``, ``pos_embed``, ``blocks``, ``norm``, ``pred``), so official release keys map
    onto this module by a prefix change.

    Args:
        grid_size: patch grid (h, w) of the pretraining images.
        patch_size: side of a patch in pixels.
        in_chans: image channels the pixels are predicted for.
        encoder_dim: width of the encoder tokens coming in.
        embed_dim: decoder token width.
        depth: decoder blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over ``embed_dim``.
        grad_checkpointing: recompute blocks in backward to save activation memory (the decoder
            holds most of them: all L + 1 tokens, e.g. 8 x 197 x 512 for ViT-B vs the encoder's
            12 x 50 x 768).
    """

    def __init__(
        self,
        grid_size: tuple[int, int] = (14, 14),
        patch_size: int = 16,
        in_chans: int = 3,
        encoder_dim: int = 768,
        embed_dim: int = 512,
        depth: int = 8,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
        grad_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        self.grid_size = tuple(grid_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.embed = nn.Linear(encoder_dim, embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.num_patches + 1, embed_dim), requires_grad=False
        )
        self.blocks = nn.Sequential(
            *[
                Block(
                    embed_dim,
                    num_heads,
                    mlp_ratio,
                    qkv_bias=True,
                    norm_layer=partial(nn.LayerNorm, eps=1e-6),
                )
                for _ in range(depth)
            ]
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.pred = nn.Linear(embed_dim, patch_size * patch_size * in_chans)
        self.grad_checkpointing = grad_checkpointing
        self.init_weights()

    def init_weights(self) -> None:
        """Official MAE init: fixed sin-cos table, Linear/LayerNorm init, mask token N(0, 0.02)."""
        fill_sincos_pos_embed(self.pos_embed, self.grid_size)
        self.apply(init_linear_and_norm)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, latent: Tensor, visible_ids: Tensor) -> Tensor:
        """Predict every patch.

        Args:
            latent: (B, 1 + K, D_enc) encoder output, cls token first.
            visible_ids: (B, K) positions of the visible patches in the full sequence.

        Returns:
            (B, L, p*p*C) pixel predictions, patch order of ``patchify``.
        """
        x = self.embed(latent)
        batch_size = x.shape[0]
        mask_tokens = self.mask_token.to(x.dtype).expand(batch_size, self.num_patches, -1)
        patches = set_at_index(mask_tokens, visible_ids, x[:, 1:])  # unshuffle: one scatter
        x = torch.cat([x[:, :1], patches], dim=1) + self.pos_embed
        x = self.norm(run_blocks(self.blocks, x, self.grad_checkpointing))
        return self.pred(x[:, 1:])
