"""The pretraining configs' AdamW: the fused kernel steps as the foreach one does."""

import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tests.helpers.models import tiny_pretrain_model as build
from tests.helpers.paths import ROOT

SCHEDULE = f'{ROOT}/configs/_base_/schedules/mae_adamw.py'


def wrapper_of(model, **optimizer):
    cfg = copy.deepcopy(Config.fromfile(SCHEDULE).optim_wrapper)
    cfg.optimizer.update(optimizer)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return build_optim_wrapper(model, cfg)


def test_the_config_asks_for_fused_adamw():
    optimizer = wrapper_of(build()).optimizer
    assert isinstance(optimizer, torch.optim.AdamW)
    assert all(group['fused'] for group in optimizer.param_groups)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_a_training_step_of_fused_equals_foreach(dtype):
    models = [build(), build()]
    wrappers = [wrapper_of(models[0], fused=True), wrapper_of(models[1], fused=False, foreach=True)]
    data = dict(inputs=torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    for model, wrapper in zip(models, wrappers, strict=True):
        with torch.autocast('cpu', dtype=dtype, enabled=dtype != torch.float32):
            torch.manual_seed(2)  # the same self-drawn mask for both
            model.train_step(dict(data, data_samples=None), wrapper)
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=name)


def test_fused_follows_foreach_over_steps_on_the_same_gradients():
    # the same gradients each step: training itself would amplify rounding (Adam turns the
    # rounding noise of a zero gradient, e.g. the attention key bias, into lr-sized steps)
    models = [build(), build()]
    optimizers = [
        wrapper_of(models[0], fused=True).optimizer,
        wrapper_of(models[1], fused=False, foreach=True).optimizer,
    ]
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=gen) for p in models[0].parameters()]
        for model, optimizer in zip(models, optimizers, strict=True):
            for p, g in zip(model.parameters(), grads, strict=True):
                p.grad = g.clone() if p.requires_grad else None
            optimizer.step()
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
