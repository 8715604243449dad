"""The training forward compiles as one graph on CUDA: dynamo traces the ViT-B forward of
``MAEPretrainModel`` (pipeline mask, bf16 autocast, as training runs it) without a break, and
Inductor builds the whole depth-2 MAE's forward and backward (``fullgraph=True``: a break is an
error) whose loss and gradients match the eager step's."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.gpu.compare import TOLERANCES, grad_errors, loss_error
from tests.helpers.gpu.inputs import batch, build_model, vit_b_config
from tests.helpers.gpu.setup import setup_from_env

pytestmark = pytest.mark.gpu


def prepared(setup, device: str):
    cfg = vit_b_config(setup)
    model = build_model(cfg).to(device)
    data = model.data_preprocessor(batch(cfg, setup.batch_size), True)
    return model, data


def test_training_forward_is_one_graph_on_the_device(check_setup, record):
    device = check_setup.device
    model, data = prepared(check_setup, device)
    torch._dynamo.reset()
    with torch.autocast(device, dtype=torch.bfloat16):
        report = torch._dynamo.explain(lambda d: model(**d, mode='loss')['loss'])(data)
    record(
        device=device,
        arch=check_setup.arch,
        graphs=report.graph_count,
        graph_breaks=report.graph_break_count,
        ops=report.op_count,
    )
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


def test_inductor_step_matches_eager(check_setup, record):
    device = check_setup.device
    model, data = prepared(setup_from_env({'MAE_GPU_CHECK_ARCH': 'tiny'}), device)

    def step(fn):
        model.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = fn(data)
        loss.backward()
        grads = {
            n: p.grad.detach().float().cpu().clone()
            for n, p in model.named_parameters()
            if p.grad is not None
        }
        return float(loss.detach()), grads

    def forward(d):
        return model(**d, mode='loss')['loss']

    torch._dynamo.reset()
    eager_loss, eager_grads = step(forward)
    compiled_loss, compiled_grads = step(torch.compile(forward, fullgraph=True))
    errors = grad_errors(compiled_grads, eager_grads)
    record(
        device=device,
        loss_rel_error=loss_error(compiled_loss, eager_loss),
        grad_rel_l2=errors['rel_l2'],
        worst_cosine=errors['cosine'],
    )
    tol = TOLERANCES[torch.bfloat16]
    assert loss_error(compiled_loss, eager_loss) <= tol.loss
    assert errors['rel_l2'] <= tol.grad and errors['cosine'] >= tol.cosine, errors
