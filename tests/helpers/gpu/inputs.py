"""The same weights, images and masks for every path the GPU checks compare."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401  (registers the MMEngine components)
from mae_plugin.engine.registry import MODELS
from mae_plugin.models.masking import batch_random_mask
from tests.helpers.gpu.setup import VIT_B, CheckSetup


def vit_b_config(setup: CheckSetup) -> Config:
    """``configs/mae_vit-b_800e.py`` with the setup's model options."""
    cfg = Config.fromfile(VIT_B)
    cfg.merge_from_dict({f'model.{k}': v for k, v in setup.model_options.items()})
    return cfg


def build_model(cfg: Config, seed: int = 0) -> torch.nn.Module:
    """``cfg.model`` (MAEPretrainModel) on the CPU, seeded, in training mode."""
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return MODELS.build(cfg.model).train()


def optim_wrapper(model: torch.nn.Module, cfg: Config, **wrapper: Any) -> Any:
    """The config's optimizer wrapper (AdamW, fused, its paramwise_cfg) with ``wrapper``'s keys
    (e.g. ``type``, ``dtype``, ``loss_scale``) replaced."""
    options = ConfigDict(copy.deepcopy(dict(cfg.optim_wrapper)))
    options.update(wrapper)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return build_optim_wrapper(model, options)


def photographs(count: int, size: int) -> torch.Tensor:
    """uint8 (count, 3, size, size): the demo photographs (scikit-image's), resized, in order
    (repeated when ``count`` is larger). Real pictures: their gradients are those of training,
    not of noise."""
    from tools.demo_data import demo_arrays

    arrays = list(demo_arrays().values())
    out = []
    for index in range(count):
        image = torch.from_numpy(arrays[index % len(arrays)]).permute(2, 0, 1)[None].float()
        image = F.interpolate(image, size=(size, size), mode='bilinear', antialias=True)
        out.append(image.round().clamp(0, 255).to(torch.uint8)[0])
    return torch.stack(out)


def batch(cfg: Config, batch_size: int, seed: int = 0) -> dict[str, Any]:
    """A data batch as the pipeline packs it: ``inputs`` uint8 (B, 3, H, W), ``data_samples``
    with the mask (B, L) bool at the config's ratio, drawn from a seeded CPU generator."""
    encoder = cfg.model.encoder
    size, patch = encoder.get('img_size', 224), encoder.get('patch_size', 16)
    generator = torch.Generator().manual_seed(seed)
    mask = batch_random_mask(
        batch_size, (size // patch) ** 2, cfg.model.get('mask_ratio', 0.75), 'cpu', generator
    )
    return dict(inputs=photographs(batch_size, size), data_samples=dict(mask=mask))


def lightning_kwargs(cfg: Config) -> dict[str, Any]:
    """``MAELightningModule`` arguments for the model of ``cfg``."""
    enc, dec = cfg.model.encoder, cfg.model.decoder
    return dict(
        arch='base',
        img_size=enc.get('img_size', 224),
        patch_size=enc.get('patch_size', 16),
        embed_dim=enc.embed_dim,
        depth=enc.depth,
        num_heads=enc.num_heads,
        decoder_embed_dim=dec.embed_dim,
        decoder_depth=dec.depth,
        decoder_num_heads=dec.num_heads,
        mask_ratio=cfg.model.get('mask_ratio', 0.75),
    )
