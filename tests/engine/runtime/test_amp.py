"""The AMP optim wrappers: one non-finite rule under mixed precision and for every config (bf16
or fp16 with a loss scaler, both skipping, counting and stopping as ``FiniteOptimWrapper``
does; MMEngine's own wrappers are replaced by the plugin's); CPUAmpOptimWrapper's bf16 autocast
of the whole forward, or of named regions only."""

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mae_plugin.engine.runtime.amp import CPUAmpOptimWrapper
from tests.helpers.paths import DEMO, ROOT


@pytest.mark.parametrize('bf16', [True, False])
def test_amp_on_a_gpu_keeps_the_skip_limit(bf16):
    """``--amp`` on a GPU (mocked: the config is only built) runs the plugin's wrapper, bf16
    where the GPU has it, fp16 with a loss scaler elsewhere, and keeps the limit and interval
    (MMEngine's AmpOptimWrapper skipped forever, uncounted)."""
    from unittest import mock

    from mae_plugin.engine.runtime.launch import build_train_config

    with (
        mock.patch('torch.cuda.is_available', return_value=True),
        mock.patch('torch.cuda.current_device', return_value=0),
        mock.patch('torch.cuda.is_bf16_supported', return_value=bf16),
    ):
        cfg = build_train_config(DEMO, amp=True, cfg_options={'optim_wrapper.check_interval': 3})
    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'mae_plugin.MAEAmpOptimWrapper'
    assert wrapper.dtype == ('bfloat16' if bf16 else 'float16')
    assert wrapper.max_consecutive_skips == 5 and wrapper.check_interval == 3


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_amp_wrapper_skips_counts_and_stops_in_either_dtype(dtype):
    """The autocast wrapper on the CPU in bf16 and in fp16 through its GradScaler (the GPU's
    code path, device-agnostic): a NaN step changes nothing and is counted; 2 in a row stop."""
    from mae_plugin.engine.runtime.amp import MAEAmpOptimWrapper

    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optim = MAEAmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=0.1, fused=True),
        dtype=dtype,
        max_consecutive_skips=2,
        check_interval=1,
    )

    def step(bad, it):
        MessageHub.get_current_instance().update_info('iter', it)
        with optim.optim_context(model):
            out = model(torch.ones(2, 4))
        assert out.dtype == getattr(torch, dtype)
        loss = out.float().square().mean()
        optim.update_params(loss * float('nan') if bad else loss)

    step(False, 0)
    weights = model.weight.detach().clone()
    step(True, 1)
    assert torch.equal(weights, model.weight) and optim.skipped_steps == 1
    step(False, 2)
    assert not torch.equal(weights, model.weight) and torch.isfinite(model.weight).all()
    assert ('loss_scaler' in optim.state_dict()) == (dtype == 'float16')
    step(True, 3)
    with pytest.raises(FloatingPointError, match=r'\(iterations 4 to 5\)'):
        step(True, 4)


def test_every_config_trains_under_the_rule(tmp_path):
    """MMEngine's plain wrapper (classification, transfer demos) and its fp16 AmpOptimWrapper
    (the ViTDet and seg recipes) become the plugin's, which skip, count and stop."""
    from mae_plugin.engine.runtime.launch import build_train_config

    finetune = f'{ROOT}/configs/cls/vit-t-mae_finetune_demo.py'
    assert build_train_config(finetune).optim_wrapper.type == 'mae_plugin.FiniteOptimWrapper'
    config = tmp_path / 'amp_recipe.py'
    config.write_text(
        f'_base_ = {finetune!r}\n'
        "optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')\n"
    )
    cfg = build_train_config(str(config))  # on this CPU: bf16, no scaler
    assert cfg.optim_wrapper.type == 'mae_plugin.CPUAmpOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper


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
