"""Fixtures of the checkpoint tests."""

import pytest
import torch

from mae_plugin.apis import init_model
from tests.checkpoints.helpers import DEMO_CFG


@pytest.fixture(scope='module')
def demo_core():
    """The core state dict of the demo MAE (ViT-Ti-like, 64 px, patch 8), seeded."""
    torch.manual_seed(3)
    return init_model(DEMO_CFG).mae.state_dict()
