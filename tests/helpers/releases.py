"""The tiny MAE written as a released checkpoint of each format a run can continue from."""

import torch

from mae_plugin.checkpoints import from_core
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers.models import demo_mae


def released(tmp_path, fmt, img_size=32):
    """(path, core MAE) of a tiny MAE written in ``fmt``, pretrained at ``img_size`` (the demo
    runs at 64 px: the position tables must be resampled)."""
    torch.manual_seed(1)
    mae = demo_mae(img_size)
    state = mae.state_dict()
    if fmt == 'official-encoder':
        state = {k: v for k, v in state.items() if k.startswith('encoder.')}
    if fmt in ('hf', 'timm-safetensors'):  # a Hugging Face folder; timm's hub file
        plugin = str(tmp_path / 'plugin_src.pth')
        torch.save(from_core(state, 'plugin'), plugin)
        path = str(tmp_path / ('hf' if fmt == 'hf' else 'model.safetensors'))
        options = dict(norm_pix=True, num_heads=3, decoder_num_heads=2) if fmt == 'hf' else {}
        convert_checkpoint(plugin, path, fmt.split('-')[0], **options)
        return path, mae
    path = str(tmp_path / f'{fmt}.pth')
    torch.save(from_core(state, fmt.split('-')[0]), path)
    return path, mae
