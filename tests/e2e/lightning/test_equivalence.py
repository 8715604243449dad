"""The Lightning step is the MMEngine step: same loss, same gradients, same optimizer groups,
the official lr rule and schedule, the same data pipeline."""

import math
import os
import shutil

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader, default_collate

import mae_plugin  # noqa: F401  (registers the MMEngine components)
from mae_plugin.engine.registry import DATASETS, MODELS
from mae_plugin.engine.runtime.runner import effective_batch_size
from mae_plugin.models.masking import fixed_masks
from tests.helpers.lightning_runs import tiny_cli
from tests.helpers.mmengine_runs import TINY_ARCH
from tests.helpers.paths import ROOT

MM_DEMO = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
MM_TINY = TINY_ARCH


def mmengine_demo(data_root):
    """The MMEngine demo config with the tiny sizes, and its model built by the registry."""
    cfg = Config.fromfile(MM_DEMO)
    cfg.merge_from_dict({**MM_TINY, 'train_dataloader.dataset.data_root': data_root})
    torch.manual_seed(1)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        model = MODELS.build(cfg.model)
    return cfg, model.train()


class Capture(pl.Callback):
    """The loss of the first training step and every gradient before the optimizer steps."""

    def __init__(self):
        self.loss, self.grads, self.optimizer = None, None, None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.loss = outputs['loss'].detach().clone()

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.grads = {
            n: p.grad.clone() for n, p in pl_module.named_parameters() if p.grad is not None
        }
        self.optimizer = optimizer


def fit(module, samples, batch_size, **trainer_kwargs):
    """Lightning's Trainer on ``samples`` (pipeline outputs, in this order); returns Capture."""
    capture = Capture()
    trainer_kwargs.setdefault('max_steps', 1)
    trainer = pl.Trainer(
        accelerator='cpu',
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[capture],
        **trainer_kwargs,
    )
    trainer.fit(module, DataLoader(samples, batch_size=batch_size, collate_fn=default_collate))
    return capture, trainer


def pipeline_samples(datamodule, count, seed=0):
    datamodule.setup('fit')
    torch.manual_seed(seed)
    np.random.seed(seed)
    return [datamodule.train_set[i] for i in range(count)]


def test_same_weights_images_and_masks_give_the_mmengine_loss_and_gradients(tmp_path, demo_root):
    cfg, mm = mmengine_demo(demo_root)
    cli = tiny_cli(tmp_path, demo_root, '--model.warmup_epochs', '0')
    lit = cli.model
    lit.mae.load_state_dict(mm.mae.state_dict())
    samples = pipeline_samples(cli.datamodule, 4)

    data = mm.data_preprocessor(default_collate(samples), True)
    loss, _ = mm.parse_losses(mm(**data, mode='loss'))
    loss.backward()
    reference = {n: p.grad for n, p in mm.named_parameters() if p.grad is not None}

    capture, _ = fit(lit, samples, batch_size=4)
    assert torch.equal(capture.loss, loss.detach())
    assert sorted(capture.grads) == sorted(reference) and len(reference) > 20
    for name, grad in reference.items():
        assert torch.equal(capture.grads[name], grad), name


def test_optimizer_groups_are_the_mmengine_ones(tmp_path, demo_root):
    """Weight decay 0.05 on the same parameters as the MMEngine config's paramwise_cfg (0 on
    norms, biases, position tables, cls and mask tokens), AdamW β (0.9, 0.95)."""
    from mmengine.optim import build_optim_wrapper

    cfg, mm = mmengine_demo(demo_root)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        wrapper = build_optim_wrapper(mm, cfg.optim_wrapper)
    names = {id(p): n for n, p in mm.named_parameters()}
    expected = {
        names[id(p)]: group['weight_decay']
        for group in wrapper.optimizer.param_groups
        for p in group['params']
        if p.requires_grad
    }
    cli = tiny_cli(tmp_path, demo_root, '--model.warmup_epochs', '0')
    capture, _ = fit(cli.model, pipeline_samples(cli.datamodule, 4), batch_size=4)
    lit_names = {id(p): n for n, p in cli.model.named_parameters()}
    got = {
        lit_names[id(p)]: group['weight_decay']
        for group in capture.optimizer.param_groups
        for p in group['params']
    }
    assert got == expected
    assert sorted(set(got.values())) == [0.0, 0.05]
    assert 'mae.decoder.mask_token' in got and got['mae.decoder.mask_token'] == 0.0
    assert {g['betas'] for g in capture.optimizer.param_groups} == {(0.9, 0.95)}
    assert capture.optimizer.defaults['fused'] and wrapper.optimizer.defaults['fused']
    assert wrapper.optimizer.defaults['betas'] == (0.9, 0.95)


def test_lr_counts_batch_processes_and_accumulation_as_the_mmengine_runner(tmp_path, demo_root):
    """ViT-B recipe: base 1.5e-4 per 256 images; batch 2 x 1 process x accumulation 4."""
    recipe = Config.fromfile(os.path.join(ROOT, 'configs', 'mae_vit-b_800e.py'))
    per_image = recipe.optim_wrapper.optimizer.lr / recipe.auto_scale_lr.base_batch_size
    cli = tiny_cli(tmp_path, demo_root, '--model.warmup_epochs', '0', '--model.base_lr', '1.5e-4')
    samples = pipeline_samples(cli.datamodule, 8)
    capture, trainer = fit(cli.model, samples, batch_size=2, accumulate_grad_batches=4)
    lr = capture.optimizer.param_groups[0]['initial_lr']
    assert lr == pytest.approx(per_image * effective_batch_size(2, 1, 4))
    assert lr == pytest.approx(1.5e-4 * 8 / 256)


def official_lr(step, steps_per_epoch, lr, warmup_epochs, epochs):
    """facebookresearch/mae util/lr_sched.adjust_learning_rate at fractional epoch."""
    epoch = step / steps_per_epoch
    if epoch < warmup_epochs:
        return lr * epoch / warmup_epochs
    return lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup_epochs) / (epochs - warmup_epochs)))


class LrRecorder(pl.Callback):
    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append((trainer.global_step, trainer.optimizers[0].param_groups[0]['lr']))


@pytest.mark.parametrize('accumulation', [1, 2])
def test_warmup_then_cosine_per_optimizer_step_as_the_official_schedule(
    tmp_path, demo_root, accumulation
):
    """5 epochs of 4 batches, 2 warm-up epochs: every batch trains at the official lr of its
    fractional epoch, the schedule moving once per optimizer step."""
    cli = tiny_cli(tmp_path, demo_root, '--model.warmup_epochs', '2')
    samples = pipeline_samples(cli.datamodule, 8)
    recorder = LrRecorder()
    trainer = pl.Trainer(
        accelerator='cpu',
        max_epochs=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[recorder],
        accumulate_grad_batches=accumulation,
    )
    trainer.fit(cli.model, DataLoader(samples, batch_size=2, collate_fn=default_collate))
    peak = 0.012 * 2 * accumulation / 256
    per_epoch = 4 // accumulation
    assert len(recorder.lrs) == 20 and trainer.global_step == 20 // accumulation
    for step, lr in recorder.lrs:
        assert lr == pytest.approx(official_lr(step, per_epoch, peak, 2, 5), abs=1e-12), step
    assert recorder.lrs[0][1] == 0.0 and max(lr for _, lr in recorder.lrs) == pytest.approx(peak)


def test_datamodule_draws_the_mmengine_pipeline_samples(tmp_path, demo_root):
    """Same image, same seed: the DataModule's sample (crop, flip, mask, uint8 packing) is the
    one the MMEngine config's dataset produces."""
    cfg, _ = mmengine_demo(demo_root)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        mm_set = DATASETS.build(cfg.train_dataloader.dataset)
    cli = tiny_cli(tmp_path, demo_root)
    cli.datamodule.setup('fit')
    lit_set = cli.datamodule.train_set
    assert [p for p, _ in lit_set.samples] == [
        mm_set.get_data_info(i)['img_path'] for i in range(len(mm_set))
    ]
    for index in (0, 7, 19):
        torch.manual_seed(index)
        np.random.seed(index)
        mine = lit_set[index]
        torch.manual_seed(index)
        np.random.seed(index)
        theirs = mm_set[index]
        assert torch.equal(mine['inputs'], theirs['inputs'])
        assert torch.equal(mine['data_samples']['mask'], theirs['data_samples']['mask'])
        assert mine['data_samples']['mask'].shape == (64,)
        assert int((~mine['data_samples']['mask']).sum()) == 16  # 75 % of 8 x 8 masked


def test_knn_monitor_and_pictures_give_the_mmengine_hooks_numbers(tmp_path, demo_root):
    """Same weights: the kNN top-1 of KNNMonitor is KNNMonitorHook's, and the reconstruction
    grid of ReconstructionCallback is the MMEngine hook's, pixel for pixel."""
    from types import SimpleNamespace

    from mae_plugin.engine.hooks import KNNMonitorHook
    from mae_plugin.engine.hooks.reconstruction import reconstruction_grid
    from mae_plugin.lightning import KNNMonitor, ReconstructionCallback

    _, mm = mmengine_demo(demo_root)
    cli = tiny_cli(tmp_path, demo_root)
    lit = cli.model
    lit.mae.load_state_dict(mm.mae.state_dict())
    # a validation split without the first class: labels must follow the training split's
    knn_root = tmp_path / 'knn'
    shutil.copytree(os.path.join(demo_root, 'knn'), knn_root)
    shutil.rmtree(knn_root / 'val' / sorted(os.listdir(knn_root / 'val'))[0])
    expected = KNNMonitorHook(str(knn_root)).evaluate(SimpleNamespace(model=mm))
    assert KNNMonitor(str(knn_root)).evaluate(lit) == expected
    assert 5 < expected <= 100  # chance is 5 % (20 classes)

    cli.datamodule.setup('fit')
    trainer = SimpleNamespace(datamodule=cli.datamodule)
    callback = ReconstructionCallback(num_images=3, seed=4)
    images, masks = callback.fixed_batch(trainer, lit)
    assert torch.equal(masks, fixed_masks((8, 8), 3, 0.75, 'random', 4))
    grid = callback.picture(trainer, lit)
    assert np.array_equal(grid.numpy(), reconstruction_grid(mm, images, masks))
    assert grid.shape == (3 * 64, 4 * 64, 3)
