"""What the GPU checks run on (tests/gpu/conftest.py describes the environment variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tests.helpers.paths import ROOT

VIT_B = os.path.join(ROOT, 'configs', 'mae_vit-b_800e.py')
DEVICES = ('cuda', 'cpu')
# arch -> (cfg-options of VIT_B's model, batch size)
ARCHS: dict[str, tuple[dict[str, Any], int]] = {
    'base': ({}, 8),
    'tiny': (
        {
            'encoder.img_size': 64,
            'encoder.patch_size': 8,
            'encoder.embed_dim': 48,
            'encoder.depth': 2,
            'encoder.num_heads': 3,
            'decoder.embed_dim': 32,
            'decoder.depth': 1,
            'decoder.num_heads': 2,
        },
        4,
    ),
}


@dataclass(frozen=True)
class CheckSetup:
    """What the checks run on: ``device`` ('cuda' or 'cpu'), the ``arch`` name, its
    ``model_options`` (merged into VIT_B's ``model``) and ``batch_size``."""

    device: str
    arch: str
    model_options: dict[str, Any]
    batch_size: int

    @property
    def dry_run(self) -> bool:
        return self.device == 'cpu'


def setup_from_env(env: dict[str, str] | None = None) -> CheckSetup:
    """The :class:`CheckSetup` the environment variables ask for."""
    env = dict(os.environ if env is None else env)
    device = env.get('MAE_GPU_CHECK_DEVICE', 'cuda')
    arch = env.get('MAE_GPU_CHECK_ARCH', 'base')
    if device not in DEVICES:
        raise ValueError(f'MAE_GPU_CHECK_DEVICE={device!r}: choose one of {DEVICES}')
    if arch not in ARCHS:
        raise ValueError(f'MAE_GPU_CHECK_ARCH={arch!r}: choose one of {tuple(ARCHS)}')
    options, batch = ARCHS[arch]
    return CheckSetup(device, arch, dict(options), batch)
