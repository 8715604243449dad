"""CPUAmpOptimWrapper: bf16 autocast of the whole forward, or of named regions only."""

import pytest
import torch
from torch import nn

from mae_plugin.engine.runtime.amp import CPUAmpOptimWrapper


def test_named_regions_run_bf16_and_hand_on_fp32():
    torch.manual_seed(0)
    model = nn.ModuleDict(dict(backbone=nn.Linear(4, 4), head=nn.Linear(4, 2)))
    seen = {}
    model.backbone.register_forward_hook(lambda m, a, out: seen.update(backbone=out.dtype))
    model.head.register_forward_hook(lambda m, a, out: seen.update(head=out.dtype))
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), autocast_modules=['backbone']
    )
    x = torch.randn(3, 4)
    with wrapper.optim_context(model):
        features = model.backbone(x)
        out = model.head(features)
    assert seen == {'backbone': torch.bfloat16, 'head': torch.float32}
    assert features.dtype == torch.float32 and out.dtype == torch.float32
    torch.testing.assert_close(features, model.backbone(x), atol=0.05, rtol=0.02)
    out.sum().backward()
    assert model.backbone.weight.grad.dtype == torch.float32
    with wrapper.optim_context(model):  # the hooks are gone after the context
        pass
    model.backbone(x)
    assert seen['backbone'] == torch.float32


def test_a_region_the_model_lacks_is_named():
    model = nn.ModuleDict(dict(backbone=nn.Linear(4, 4)))
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), autocast_modules=['neck']
    )
    with pytest.raises(AttributeError, match='neck'):
        with wrapper.optim_context(model):
            pass
