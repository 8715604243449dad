"""The official pretraining recipe, pinned: every number the paper or the official code
fixes, and the configs' AdamW asking for the fused kernel, which steps as the foreach one does."""

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401
from mae_plugin.engine.registry import MODELS
from tests.helpers.models import tiny_pretrain_model as build
from tests.helpers.recipes import assert_plugin_runner_and_safe_checkpoints, load, wrapper_of

SIZES = {'b': (768, 12, 12, 16), 'l': (1024, 24, 16, 16), 'h': (1280, 32, 16, 14)}

CONFIGS = [(s, e) for s in 'blh' for e in (400, 800, 1600)]

CONFIG_FAMILIES = [
    'mae_vit-b_800e.py',
    'mae_vit-t_demo.py',
    'cls/vit-b-mae_finetune-100e_in1k.py',
    'cls/vit-t-mae_linprobe_demo.py',
]


@pytest.mark.parametrize('size,epochs', CONFIGS)
def test_pretraining_recipe(size, epochs):
    cfg = load(f'mae_vit-{size}_{epochs}e.py')
    dim, depth, heads, patch = SIZES[size]
    enc = cfg.model.encoder
    assert (enc.embed_dim, enc.depth, enc.num_heads, enc.patch_size, enc.img_size) == (
        dim,
        depth,
        heads,
        patch,
        224,
    )
    assert cfg.model.decoder == dict(embed_dim=512, depth=8, num_heads=16)
    assert cfg.model.loss.norm_pix is True and cfg.model.mask_ratio == 0.75

    pipeline = cfg.train_dataloader.dataset.pipeline
    # load + crop in one transform, decoding JPEGs at reduced scale where the crop allows
    assert pipeline[0].type == 'MAELoadRandomResizedCrop'
    crop = pipeline[0]
    assert (crop.size, tuple(crop.scale), crop.interpolation) == (224, (0.2, 1.0), 'bicubic')
    assert next(t for t in pipeline if t.type == 'MAERandomFlip').prob == 0.5
    masker = next(t for t in pipeline if t.type == 'MAEMaskGenerator')
    assert (masker.mask_ratio, masker.strategy, masker.patch_size) == (0.75, 'random', patch)
    assert cfg.train_dataloader.batch_size * 8 == 4096  # 8 GPUs x 512 = the paper's batch

    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and tuple(opt.betas) == (0.9, 0.95)
    assert opt.weight_decay == 0.05
    assert opt.lr == pytest.approx(1.5e-4 * 4096 / 256)
    assert cfg.auto_scale_lr == dict(base_batch_size=4096, enable=True)

    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and (warmup.begin, warmup.end) == (0, 40)
    assert warmup.start_factor <= 1e-4 and warmup.convert_to_iter_based
    assert cosine.type == 'CosineAnnealingLR' and cosine.eta_min == 0
    assert (cosine.begin, cosine.end, cosine.T_max) == (40, epochs, epochs - 40)
    assert cosine.convert_to_iter_based and cfg.train_cfg.max_epochs == epochs
    assert cfg.default_scope == 'mae_plugin'


def test_no_weight_decay_on_norms_biases_pos_embed_and_tokens():
    cfg = load('mae_vit-b_800e.py')
    cfg.model.encoder.update(img_size=32, patch_size=16, embed_dim=32, depth=1, num_heads=2)
    cfg.model.decoder.update(embed_dim=32, depth=1, num_heads=2)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay_of[id(p)] = group['weight_decay']
    checked = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        leaf = name.split('.')[-1]
        expected = (
            0.0
            if (leaf in ('bias', 'cls_token', 'mask_token', 'pos_embed') or 'norm' in name)
            else 0.05
        )
        assert decay_of[id(param)] == expected, name
        checked += 1
    assert checked == sum(p.requires_grad for p in model.parameters())
    # every exempt kind is present (so the loop above checked it) and decayed weights exist
    exempt = [name for name, p in model.named_parameters() if decay_of.get(id(p)) == 0.0]
    for kind in ('norm', 'bias', 'cls_token', 'mask_token'):
        assert any(kind in name for name in exempt), kind
    # the position tables are fixed sin-cos (the paper): frozen, so in no group at all
    tables = [p for name, p in model.named_parameters() if name.endswith('pos_embed')]
    assert len(tables) == 2 and not any(p.requires_grad or id(p) in decay_of for p in tables)
    # decayed: patch projection, 4 matrices per block (qkv, proj, fc1, fc2) x (1 encoder +
    # 1 decoder block), decoder embedding and prediction
    assert sum(decay_of.get(id(p)) == 0.05 for p in model.parameters()) == 1 + 4 * 2 + 2


@pytest.mark.parametrize('name', CONFIG_FAMILIES)
def test_every_config_runs_the_plugin_runner_and_safe_checkpoints(name):
    assert_plugin_runner_and_safe_checkpoints(load(name))


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
