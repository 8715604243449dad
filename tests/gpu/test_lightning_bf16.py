"""Lightning's ``bf16-mixed`` on the GPU matches the fp32 CPU step: ``MAELightningModule`` with
the same weights, images and masks as the MMEngine checks, one step of the Trainer each, the loss
and the gradients the optimizer receives within the bf16 tolerances of ``compare.py``."""

from __future__ import annotations

from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, default_collate

from mae_plugin.lightning import MAELightningModule
from tests.helpers.gpu.compare import check_step, grad_errors, loss_error
from tests.helpers.gpu.inputs import batch, build_model, lightning_kwargs, vit_b_config

pytestmark = pytest.mark.gpu


class FirstStep(pl.Callback):
    """The loss of the first step and the gradients its optimizer step receives."""

    def __init__(self) -> None:
        self.loss: float | None = None
        self.grads: dict[str, torch.Tensor] | None = None

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads = {
            n: p.grad.detach().float().cpu().clone()
            for n, p in pl_module.named_parameters()
            if p.grad is not None
        }

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.loss = float(outputs['loss'].detach())


def one_step(cfg, weights: dict, data: dict[str, Any], accelerator: str, precision: str):
    module = MAELightningModule(**lightning_kwargs(cfg), warmup_epochs=0)
    module.mae.load_state_dict(weights)
    count = data['inputs'].shape[0]
    samples = [
        dict(inputs=data['inputs'][i], data_samples=dict(mask=data['data_samples']['mask'][i]))
        for i in range(count)
    ]
    capture = FirstStep()
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[capture],
    )
    loader = DataLoader(samples, batch_size=count, collate_fn=default_collate)
    trainer.fit(module, loader)
    return capture


def test_lightning_bf16_mixed_matches_fp32(check_setup, record):
    if check_setup.device == 'cuda' and not torch.cuda.is_bf16_supported(including_emulation=False):
        pytest.skip(f'{torch.cuda.get_device_name()} computes no bf16')
    cfg = vit_b_config(check_setup)
    weights = build_model(cfg).mae.state_dict()
    data = batch(cfg, check_setup.batch_size)
    reference = one_step(cfg, weights, data, 'cpu', '32-true')
    accelerator = 'gpu' if check_setup.device == 'cuda' else 'cpu'
    mixed = one_step(cfg, weights, data, accelerator, 'bf16-mixed')
    errors = grad_errors(mixed.grads, reference.grads)
    record(
        device=check_setup.device,
        arch=check_setup.arch,
        batch=check_setup.batch_size,
        loss=mixed.loss,
        fp32_cpu_loss=reference.loss,
        loss_rel_error=loss_error(mixed.loss, reference.loss),
        grad_rel_l2=errors['rel_l2'],
        worst_cosine=errors['cosine'],
        worst_tensor=errors['tensor'],
    )
    assert len(reference.grads) > 20
    problems = check_step(torch.bfloat16, mixed.loss, reference.loss, errors)
    assert not problems, problems
