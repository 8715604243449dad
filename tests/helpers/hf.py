"""Shared pieces of the Hugging Face tests: the tiny MAE with every tensor random, the noise that
makes transformers keep exactly the patches of a given mask, folders written by the converter
and by transformers itself."""

import torch
from transformers import ViTMAEConfig, ViTMAEForPreTraining

from mae_plugin.checkpoints.convert import convert_checkpoint
from mae_plugin.models.masking import batch_random_mask, num_visible_in, split_indices
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.models import SMALL_DECODER, randomize, tiny_mae

TINY_HF = dict(
    hidden_size=48,
    num_hidden_layers=2,
    num_attention_heads=3,
    intermediate_size=192,
    image_size=32,
    patch_size=8,
    decoder_hidden_size=32,
    decoder_num_hidden_layers=1,
    decoder_num_attention_heads=2,
    decoder_intermediate_size=128,
    layer_norm_eps=1e-6,
)


def random_mae(norm_pix: bool = True, seed: int = 0):
    """The brief's tiny MAE: 32 px, patch 8, 48 wide, 2 layers, 3 heads; decoder 32 x 1 x 2;
    every tensor random from ``seed``."""
    return tiny_mae(norm_pix=norm_pix, decoder=SMALL_DECODER, seed=seed)


def hf_noise(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) noise whose argsort lists the visible patches of ``mask`` first, in increasing
    order, then the masked ones: transformers' ``random_masking`` keeps the first
    ``int(L * (1 - mask_ratio))`` of that order, i.e. exactly our visible patches, in the
    order our encoder sees them."""
    visible, masked = split_indices(mask, num_visible_in(mask))
    order = torch.cat([visible, masked], dim=1)
    ranks = torch.arange(mask.shape[1], dtype=torch.float32).expand_as(order).contiguous()
    return torch.empty(mask.shape).scatter_(1, order, ranks)


def batch(seed: int = 1, size: int = 32, num: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (num, 3, size, size), mask (num, L) at ratio 0.75)."""
    torch.manual_seed(seed)
    return torch.randn(num, 3, size, size), batch_random_mask(num, (size // 8) ** 2, 0.75)


def to_hf_folder(tmp_path, mae, name: str = 'hf', **options) -> str:
    """``mae`` written as a Hugging Face folder by the converter (3 heads, decoder 2)."""
    src = save_plugin_checkpoint(mae, tmp_path / f'{name}_src.pth')
    options.setdefault('norm_pix', mae.loss.norm_pix)
    convert_checkpoint(src, tmp_path / name, 'hf', num_heads=3, decoder_num_heads=2, **options)
    return str(tmp_path / name)


def tiny_hf_folder(tmp_path):
    """The folder of :func:`random_mae` (norm-pix), as a path."""
    src = save_plugin_checkpoint(random_mae(), tmp_path / 'src.pth')
    convert_checkpoint(src, tmp_path / 'hf', 'hf', norm_pix=True, num_heads=3, decoder_num_heads=2)
    return tmp_path / 'hf'


def hf_saved_folder(tmp_path, seed: int = 0):
    """A ViTMAEForPreTraining with random tensors, written by transformers' save_pretrained."""
    hf = randomize(ViTMAEForPreTraining(ViTMAEConfig(norm_pix_loss=True, **TINY_HF)), seed)
    hf.save_pretrained(tmp_path / 'saved')
    return hf, str(tmp_path / 'saved')
