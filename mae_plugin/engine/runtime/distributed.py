"""CPU DDP under ``torchrun ... --launcher pytorch``.

MMEngine 0.10.7 calls ``torch.cuda.set_device`` when it initialises a 'pytorch' launch and
passes ``device_ids=[LOCAL_RANK]`` to DDP, so a CPU-only launch fails ("Found no NVIDIA driver")
even with gloo. Where no GPU exists we initialise the gloo group ourselves (MMEngine then skips
its own init) and wrap with a DDP that drops ``device_ids``; GPU launches are left untouched.
"""

from __future__ import annotations

import datetime
from typing import Any

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel

from ..registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP for modules on the CPU, where ``device_ids`` must be None."""

    def __init__(self, module: torch.nn.Module, device_ids: Any = None, **kwargs: Any) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a CPU-only 'pytorch' launch: the gloo group, and the CPU DDP wrapper in ``cfg``.

    Returns:
        True when it did; False for any other launch, left untouched.
    """
    if launcher != 'pytorch' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
        timeout = datetime.timedelta(seconds=dist_cfg.get('timeout', 1800))
        dist.init_process_group(backend='gloo', timeout=timeout)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'mae_plugin.CPUDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    return True
