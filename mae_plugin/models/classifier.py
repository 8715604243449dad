"""The paper's evaluation model: a timm ViT classifier on the MAE encoder.

Fine-tuning (official ``models_vit.py``): global average pooling of the patch tokens, then
``fc_norm`` (the final ``norm`` is dropped), a Linear head with trunc-normal std 2e-5, drop path,
learnable position table started from the pretrained one. Linear probing (``main_linprobe.py``):
the cls token after the pretrained final norm, ``BatchNorm1d(affine=False)`` before the head
(std 0.01), encoder frozen. Partial fine-tuning (paper section 4.3): only the last k blocks train.
Both are timm's ``VisionTransformer`` as it is, so a fine-tuned state dict is a timm one.
"""

from __future__ import annotations

from timm.layers import trunc_normal_
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn


class ViTClassifier(nn.Module):
    """A timm ViT with a head, the encoder (or all but its last blocks) optionally frozen.

    Args:
        num_classes: classes of the Linear head.
        img_size: input side in pixels.
        patch_size: side of a square patch in pixels.
        embed_dim: token width.
        depth: transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over ``embed_dim``.
        pool: 'avg' (patch-token mean + ``fc_norm``, fine-tuning default) or 'cls' (cls token
            after the final norm, linear probing).
        drop_path_rate: stochastic depth of the last block (linear in depth before it).
        head_bn: put ``BatchNorm1d(affine=False, eps=1e-6)`` before the Linear (linear probing).
        head_init_std: trunc-normal std of the head weight (2e-5 fine-tuning, 0.01 probing).
        trainable_blocks: None trains everything; k trains only the last k blocks and what
            follows them; 0 freezes the whole encoder (linear probing). Frozen blocks run in eval
            mode (no drop path).
    """

    def __init__(
        self,
        num_classes: int,
        img_size: int = 224,
        patch_size: int = 16,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        pool: str = 'avg',
        drop_path_rate: float = 0.0,
        head_bn: bool = False,
        head_init_std: float = 2e-5,
        trainable_blocks: int | None = None,
    ) -> None:
        super().__init__()
        if pool not in ('avg', 'cls'):
            raise ValueError(f"pool must be 'avg' or 'cls', got {pool!r}")
        if trainable_blocks is not None and not 0 <= trainable_blocks <= depth:
            raise ValueError(
                f'trainable_blocks must be in [0, {depth}] or None, got {trainable_blocks}'
            )
        self.vit = VisionTransformer(
            img_size=img_size,
            patch_size=patch_size,
            num_classes=num_classes,
            global_pool='avg' if pool == 'avg' else 'token',
            fc_norm=pool == 'avg',
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=True,
            drop_path_rate=drop_path_rate,
        )
        trunc_normal_(self.vit.head.weight, std=head_init_std)
        nn.init.zeros_(self.vit.head.bias)
        if head_bn:
            self.vit.head = nn.Sequential(
                nn.BatchNorm1d(embed_dim, affine=False, eps=1e-6), self.vit.head
            )
        self.pool = pool
        self.trainable_blocks = trainable_blocks
        for param in self.frozen_parameters():
            param.requires_grad_(False)

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid (h, w) of ``img_size``."""
        return tuple(self.vit.patch_embed.grid_size)

    @property
    def new_keys(self) -> tuple[str, ...]:
        """State-dict globs (of ``vit``) that a pretrained MAE encoder does not provide."""
        return ('fc_norm.*', 'head.*')

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """Pretrained encoder key globs (of ``vit``) this classifier has no place for.

        Under average pooling that is the final norm, replaced by ``fc_norm`` as in the
        official fine-tuning.
        """
        return ('norm.*',) if self.pool == 'avg' else ()

    def frozen_modules(self) -> list[nn.Module]:
        """The encoder parts that ``trainable_blocks`` freezes (empty when None)."""
        k = self.trainable_blocks
        if k is None:
            return []
        vit = self.vit
        stem = [vit.patch_embed, vit.norm_pre]
        frozen = stem + list(vit.blocks[: len(vit.blocks) - k])
        if k == 0:
            frozen.append(vit.norm)  # under 'avg' this is an Identity; fc_norm stays trainable
        return frozen

    def frozen_parameters(self) -> list[nn.Parameter]:
        """The frozen modules' parameters, plus cls token and position table under any freeze."""
        params = [p for m in self.frozen_modules() for p in m.parameters()]
        if self.trainable_blocks is not None:
            params += [self.vit.cls_token, self.vit.pos_embed]
        return params

    def train(self, mode: bool = True) -> ViTClassifier:
        """Set the training ``mode``, but leave the frozen modules in eval mode (no drop path)."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, num_classes) logits."""
        return self.vit(images)
