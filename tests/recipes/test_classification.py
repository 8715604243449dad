"""The official fine-tuning and linear-probing recipes, pinned (FINETUNE.md / LINPROBE.md)."""

import pytest

from tests.helpers.recipes import load

ARCH = {'b': 'base', 'l': 'large', 'h': 'huge'}
# size: (epochs, base lr, layer decay, drop path)
FINETUNE = {'b': (100, 5e-4, 0.65, 0.1), 'l': (50, 1e-3, 0.75, 0.2), 'h': (50, 1e-3, 0.75, 0.3)}


def test_eval_pipeline_resize_256_centre_crop_224():
    cfg = load('cls/vit-b-mae_finetune-100e_in1k.py')
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == [
        'MAELoadImage',
        'MAEResize',
        'MAECenterCrop',
        'MAEPackInputs',
    ]
    assert (pipeline[1].size, pipeline[1].interpolation, pipeline[2].size) == (256, 'bicubic', 224)
    assert cfg.test_evaluator == dict(type='MAEAccuracy', topk=(1, 5))
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'val'


@pytest.mark.parametrize('size', 'blh')
def test_finetuning_recipe(size):
    epochs, blr, decay, drop_path = FINETUNE[size]
    cfg = load(f'cls/vit-{size}-mae_finetune-{epochs}e_in1k.py')
    model = cfg.model
    assert (model.type, model.arch, model.img_size, model.pool) == (
        'MAEClassifier',
        ARCH[size],
        224,
        'avg',
    )
    assert model.drop_path_rate == drop_path and model.head_init_std == 2e-5
    assert model.label_smoothing == 0.1  # without mixup, as the official LabelSmoothingCE
    assert model.get('trainable_blocks') is None and not model.get('head_bn', False)
    assert model.init_cfg.type == 'Pretrained'

    pre = model.data_preprocessor
    assert pre.random_erasing == dict(probability=0.25, mode='pixel', max_count=1)
    assert (
        pre.mixup.mixup_alpha,
        pre.mixup.cutmix_alpha,
        pre.mixup.label_smoothing,
        pre.mixup.switch_prob,
        pre.mixup.prob,
    ) == (0.8, 1.0, 0.1, 0.5, 1.0)

    pipeline = cfg.train_dataloader.dataset.pipeline
    crop = next(t for t in pipeline if t.type == 'MAERandomResizedCrop')
    assert (crop.size, tuple(crop.scale), crop.interpolation) == (224, (0.08, 1.0), 'bicubic')
    augment = next(t for t in pipeline if t.type == 'MAERandAugment')
    assert augment.config_str == 'rand-m9-mstd0.5-inc1'
    assert cfg.train_dataloader.batch_size * 8 == 1024 and cfg.train_dataloader.drop_last

    wrapper = cfg.optim_wrapper
    assert wrapper.constructor == 'MAELayerDecayOptimWrapperConstructor'
    assert wrapper.paramwise_cfg == dict(layer_decay_rate=decay)
    opt = wrapper.optimizer
    assert opt.type == 'AdamW' and tuple(opt.betas) == (0.9, 0.999)
    assert opt.weight_decay == 0.05 and opt.lr == pytest.approx(blr * 1024 / 256)
    assert cfg.auto_scale_lr == dict(base_batch_size=1024, enable=True)

    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and (warmup.begin, warmup.end) == (0, 5)
    assert warmup.start_factor <= 1e-4 and warmup.convert_to_iter_based
    assert cosine.type == 'CosineAnnealingLR' and (cosine.begin, cosine.end) == (5, epochs)
    assert cosine.eta_min_ratio * opt.lr == pytest.approx(1e-6)  # min lr 1e-6
    assert cfg.train_cfg.max_epochs == epochs


@pytest.mark.parametrize('size', 'blh')
def test_linear_probe_recipe(size):
    cfg = load(f'cls/vit-{size}-mae_linprobe-90e_in1k.py')
    model = cfg.model
    assert (model.arch, model.pool, model.head_bn, model.trainable_blocks) == (
        ARCH[size],
        'cls',
        True,
        0,
    )
    assert model.head_init_std == 0.01 and model.drop_path_rate == 0.0
    assert not model.get('data_preprocessor')  # no mixup, no erasing, no smoothing
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'MAELoadImage',
        'MAERandomResizedCrop',
        'MAERandomFlip',
        'MAEPackInputs',
    ]
    assert cfg.train_dataloader.batch_size * 8 == 16384

    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay) == ('MAELARS', 0.9, 0.0)
    assert opt.lr == pytest.approx(0.1 * 16384 / 256)
    assert cfg.auto_scale_lr == dict(base_batch_size=16384, enable=True)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end, cosine.begin, cosine.end, cosine.eta_min) == (
        0,
        10,
        10,
        90,
        0.0,
    )
    assert cfg.train_cfg.max_epochs == 90
