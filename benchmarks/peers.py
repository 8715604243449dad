"""The models a benchmark compares, each as ``step_loss(images) -> loss`` at the same sizes.

- ``plugin``: this package's MaskedAutoencoder (encoder on the visible tokens only).
- ``mask_tokens``: the same weights with mask tokens passed through the encoder (paper Table 2's
  baseline, "encoder w/ [M]"): the encoder runs on all tokens, the decoder needs no mask tokens.
- ``lightly``: lightly's MaskedVisionTransformerTIMM + decoder_embed +
  MaskedVisionTransformerDecoderTIMM + prediction_head, as lightly's current MAE example wires
  them (norm-pix target added so the loss matches).
- ``hf``: Hugging Face transformers' ViTMAEForPreTraining, random init (no download), SDPA.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from lightly.models import utils
from lightly.models.modules import MaskedVisionTransformerDecoderTIMM, MaskedVisionTransformerTIMM
from lightly.models.modules.masked_vision_transformer_timm import init_weights
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn

from mae_plugin.models import MaskedAutoencoder
from mae_plugin.models.loss import pixel_target
from mae_plugin.models.masking import batch_random_mask, split_indices

PEERS = ('plugin', 'mask_tokens', 'lightly', 'hf')


class MaskTokensThroughEncoder(nn.Module):
    """Table 2 baseline: mask tokens replace masked patches *inside* the encoder."""

    def __init__(self, mae: MaskedAutoencoder) -> None:
        super().__init__()
        self.mae = mae
        self.encoder_mask_token = nn.Parameter(torch.zeros(1, 1, mae.encoder.embed_dim))
        nn.init.normal_(self.encoder_mask_token, std=0.02)

    def forward(self, images: Tensor) -> Tensor:
        mae, vit, dec = self.mae, self.mae.encoder.vit, self.mae.decoder
        mask = batch_random_mask(images.shape[0], mae.num_patches, mae.mask_ratio, images.device)
        tokens = vit.patch_embed(images)
        tokens = torch.where(mask.unsqueeze(-1), self.encoder_mask_token.to(tokens.dtype), tokens)
        tokens = tokens + vit.pos_embed[:, 1:]
        cls = (vit.cls_token + vit.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)
        latent = vit.norm(vit.blocks(torch.cat([cls, tokens], 1)))  # (B, 1 + L, D)
        x = dec.norm(dec.blocks(dec.embed(latent) + dec.pos_embed))
        masked_ids = split_indices(mask, mae.num_visible)[1]
        return mae.loss(
            utils.get_at_index(dec.pred(x[:, 1:]), masked_ids),
            utils.get_at_index(mae.patchify(images), masked_ids),
        )


def build_lightly(
    encoder_cfg: dict, decoder_cfg: dict, mask_ratio: float
) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
    """lightly's MAE example (lightly >= 1.6): ``MaskedVisionTransformerTIMM`` backbone,
    ``decoder_embed`` + ``MaskedVisionTransformerDecoderTIMM`` + ``prediction_head``. Its state
    dict is the ``lightly`` checkpoint format (current layout)."""
    vit = VisionTransformer(num_classes=0, **encoder_cfg)
    backbone = MaskedVisionTransformerTIMM(vit=vit)
    patch, dim = vit.patch_embed.patch_size[0], decoder_cfg['embed_dim']
    decoder_embed = nn.Linear(vit.embed_dim, dim)
    decoder = MaskedVisionTransformerDecoderTIMM(
        num_patches=vit.patch_embed.num_patches,
        embed_dim=dim,
        depth=decoder_cfg['depth'],
        num_heads=decoder_cfg['num_heads'],
        num_prefix_tokens=vit.num_prefix_tokens,
    )
    prediction_head = nn.Linear(dim, patch * patch * 3)
    decoder_embed.apply(init_weights)  # outside the decoder: initialised as the example does
    prediction_head.apply(init_weights)
    model = nn.ModuleDict(
        dict(
            backbone=backbone,
            decoder_embed=decoder_embed,
            decoder=decoder,
            prediction_head=prediction_head,
        )
    )

    def step_loss(images: Tensor) -> Tensor:
        batch = images.shape[0]
        idx_keep, idx_mask = utils.random_token_mask(
            (batch, backbone.sequence_length), mask_ratio=mask_ratio, device=images.device
        )
        x = decoder_embed(backbone.encode(images=images, idx_keep=idx_keep))
        full = x.new_zeros(batch, backbone.sequence_length, x.shape[-1])
        full = utils.set_at_index(full, idx_keep, x)
        decoded = utils.get_at_index(decoder(full, idx_mask=idx_mask), idx_mask)
        pred = prediction_head(decoded)
        target = utils.get_at_index(utils.patchify(images, patch), idx_mask - 1)
        return nn.functional.mse_loss(pred.float(), pixel_target(target.float()))

    return model, step_loss


def build_hf(
    encoder_cfg: dict, decoder_cfg: dict, mask_ratio: float
) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
    """Hugging Face's ViTMAEForPreTraining at the same sizes, SDPA attention, random init."""
    # transformers is the optional ``benchmark`` extra: only this peer needs it
    from transformers import ViTMAEConfig, ViTMAEForPreTraining

    dim = encoder_cfg['embed_dim']
    config = ViTMAEConfig(
        image_size=encoder_cfg['img_size'],
        patch_size=encoder_cfg['patch_size'],
        hidden_size=dim,
        num_hidden_layers=encoder_cfg['depth'],
        num_attention_heads=encoder_cfg['num_heads'],
        intermediate_size=4 * dim,
        decoder_hidden_size=decoder_cfg['embed_dim'],
        decoder_num_hidden_layers=decoder_cfg['depth'],
        decoder_num_attention_heads=decoder_cfg['num_heads'],
        decoder_intermediate_size=4 * decoder_cfg['embed_dim'],
        mask_ratio=mask_ratio,
        norm_pix_loss=True,
        layer_norm_eps=1e-6,
        qkv_bias=True,
    )
    config._attn_implementation = 'sdpa'
    model = ViTMAEForPreTraining(config)

    def step_loss(images: Tensor) -> Tensor:
        return model(pixel_values=images).loss

    return model, step_loss


def build_peer(
    name: str, mae: MaskedAutoencoder, encoder_cfg: dict, decoder_cfg: dict
) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
    """(module to optimise, images -> scalar loss) for the peer ``name``."""
    if name == 'plugin':
        return mae, lambda images: mae(images).loss
    if name == 'mask_tokens':
        model = MaskTokensThroughEncoder(mae)
        return model, model
    if name == 'lightly':
        return build_lightly(encoder_cfg, decoder_cfg, mae.mask_ratio)
    if name == 'hf':
        return build_hf(encoder_cfg, decoder_cfg, mae.mask_ratio)
    raise ValueError(f'unknown peer {name!r}; choose from {PEERS}')
