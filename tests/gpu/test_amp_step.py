"""A ViT-B MAE training step under mixed precision on the GPU gives the fp32 CPU step's loss and
gradients, within ``compare.py``'s tolerances, for the same weights, images and masks. The path
is MMEngine's: ``MAEPretrainModel.train_step`` through the plugin's ``MAEAmpOptimWrapper`` as
``tools/train.py --amp`` builds it (the config's fused AdamW and paramwise_cfg): fp16 with its
dynamic loss scaler, and bf16 where the device has it. The fp32 CPU step is the one
``tools/train.py`` runs without ``--amp`` (``FiniteOptimWrapper``)."""

from __future__ import annotations

import pytest
import torch

from mae_plugin.engine.runtime.launch import build_train_config
from tests.helpers.gpu.compare import StepGrads, check_step, grad_errors, loss_error, same, snapshot
from tests.helpers.gpu.inputs import batch, build_model, optim_wrapper, vit_b_config
from tests.helpers.gpu.setup import VIT_B

pytestmark = pytest.mark.gpu
SCALER_RETRIES = 4  # fp16: a dynamic scale too high for the first step is halved, then retried


@pytest.fixture(scope='module')
def reference(check_setup):
    """(config, first weights, batch, fp32 CPU loss, fp32 CPU gradients by name)."""
    cfg = vit_b_config(check_setup)
    model = build_model(cfg)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    data = batch(cfg, check_setup.batch_size)
    wrapper = optim_wrapper(model, cfg, type='mae_plugin.FiniteOptimWrapper')
    capture = StepGrads(model, wrapper.optimizer)
    log = model.train_step(dict(data), wrapper)
    assert capture.grads and not capture.skipped
    return cfg, start, data, float(log['loss'].detach()), capture.grads


def bf16_supported(device: str) -> bool:
    if device == 'cuda':
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return True


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_amp_step_gives_the_fp32_cpu_loss_and_gradients(reference, check_setup, dtype, record):
    cfg, start, data, ref_loss, ref_grads = reference
    device = check_setup.device
    if dtype == 'bfloat16' and not bf16_supported(device):
        pytest.skip(f'{torch.cuda.get_device_name()} computes no bf16')
    model = build_model(cfg)
    model.load_state_dict(start)
    model.to(device)
    wrapper = optim_wrapper(
        model, cfg, type='mae_plugin.MAEAmpOptimWrapper', dtype=dtype, loss_scale='dynamic'
    )
    capture = StepGrads(model, wrapper.optimizer)
    params = list(model.parameters())
    scaler_skips = 0
    for _ in range(SCALER_RETRIES):
        before = snapshot(params)
        log = model.train_step(dict(data), wrapper)
        if not capture.skipped:
            break
        # only fp16's scaler may skip a finite step (overflow at its scale): nothing changed
        assert dtype == 'float16', 'a bf16 step of finite data was skipped'
        assert same(before, snapshot(params)), 'a skipped step changed weights'
        scaler_skips += 1
    else:
        pytest.fail(f'fp16: every one of {SCALER_RETRIES} steps overflowed the loss scale')
    wrapper.check_skips()
    assert wrapper.skipped_steps == scaler_skips  # the scaler's skips are counted too
    loss = float(log['loss'].detach())
    errors = grad_errors(capture.grads, ref_grads)
    scaler = wrapper.loss_scaler
    record(
        device=device,
        arch=check_setup.arch,
        batch=check_setup.batch_size,
        dtype=dtype,
        loss=loss,
        fp32_cpu_loss=ref_loss,
        loss_rel_error=loss_error(loss, ref_loss),
        grad_rel_l2=errors['rel_l2'],
        worst_cosine=errors['cosine'],
        worst_tensor=errors['tensor'],
        scaler_skips=scaler_skips,
        loss_scale=None if scaler is None else float(scaler.get_scale()),
    )
    problems = check_step(getattr(torch, dtype), loss, ref_loss, errors)
    assert not problems, problems
    after = snapshot(params)
    assert not same(before, after), 'the step changed no weight'
    assert all(torch.isfinite(p).all() for p in after)


def test_amp_flag_builds_the_plugins_wrapper_in_the_devices_dtype(tmp_path):
    """``tools/train.py --amp`` on this machine: the plugin's wrapper, bf16 where the GPU has
    it, else fp16 with the dynamic loss scale (CPU: bf16 autocast, no scaler)."""
    cfg = build_train_config(VIT_B, work_dir=str(tmp_path), amp=True)
    wrapper = cfg.optim_wrapper
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        assert wrapper.type == 'mae_plugin.MAEAmpOptimWrapper'
        assert wrapper.dtype == ('bfloat16' if bf16 else 'float16')
        assert wrapper.loss_scale == 'dynamic'
    else:
        assert wrapper.type == 'mae_plugin.CPUAmpOptimWrapper'
        assert 'loss_scale' not in wrapper
    assert wrapper.optimizer.fused is True
