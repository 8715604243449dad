"""Classification adapters: optimizers, batch augmentation, transforms, metric, model."""

import numpy as np
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from PIL import Image

import mae_plugin  # noqa: F401
from mae_plugin.engine.classification.metric import MAEAccuracy
from mae_plugin.engine.classification.transforms import MAECenterCrop, MAERandAugment, MAEResize
from mae_plugin.engine.registry import MODELS, OPTIMIZERS
from tests.helpers.models import tiny_mae

TINY = dict(
    arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3), num_classes=10, img_size=32
)


def build(**kw):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        return MODELS.build(dict(type='MAEClassifier', **{**TINY, **kw}))


def batch(n=4, labels=None):
    inputs = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(n) % 10 if labels is None else torch.tensor(labels)
    return dict(inputs=inputs, data_samples=dict(label=labels))


def test_layer_decay_constructor_through_mmengine():
    model = build(trainable_blocks=1)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        wrapper = build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
                constructor='MAELayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.65),
            ),
        )
    groups = wrapper.optimizer.param_groups
    assert {(g['layer_id'], round(g['lr'] / 2e-3, 6)) for g in groups} == {(3, 1.0), (2, 0.65)}
    assert wrapper.get_lr()['lr'][0] == pytest.approx(2e-3)
    in_optimizer = {id(p) for g in groups for p in g['params']}
    assert in_optimizer == {id(p) for p in model.parameters() if p.requires_grad}
    with pytest.raises(ValueError, match='layer_decay_rate'):
        with DefaultScope.overwrite_default_scope('mae_plugin'):
            build_optim_wrapper(
                model,
                dict(
                    optimizer=dict(type='AdamW', lr=1e-3),
                    constructor='MAELayerDecayOptimWrapperConstructor',
                    paramwise_cfg=dict(norm_decay_mult=0.0),
                ),
            )


def official_lars_step(params, grads, lr, momentum, trust=0.001, wd=0.0):
    """util/lars.py of the official repository, first step (momentum buffer starts at 0)."""
    out = []
    for p, g in zip(params, grads, strict=True):
        dp = g.clone()
        if p.ndim > 1:
            dp = dp + wd * p
            q = trust * p.norm() / dp.norm()
            dp = dp * q
        mu = torch.zeros_like(p) * momentum + dp
        out.append(p - lr * mu)
    return out


def test_lars_step_is_the_official_linear_probe_lars():
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 5)
    before = [p.detach().clone() for p in head.parameters()]
    head(torch.randn(8, 16)).square().mean().backward()
    grads = [p.grad.clone() for p in head.parameters()]
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        optimizer = OPTIMIZERS.build(
            dict(type='MAELARS', params=head.parameters(), lr=6.4, momentum=0.9, weight_decay=0.0)
        )
    optimizer.step()
    expected = official_lars_step(before, grads, lr=6.4, momentum=0.9)
    for got, want in zip(head.parameters(), expected, strict=True):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-7)


def test_mixup_cutmix_targets_are_soft_and_sum_to_one():
    model = build(
        data_preprocessor=dict(mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1))
    )
    for _ in range(4):  # both mixup and cutmix get drawn
        data = model.data_preprocessor(batch(6), training=True)
        targets = data['data_samples']['label']
        assert targets.shape == (6, 10)
        torch.testing.assert_close(targets.sum(dim=1), torch.ones(6))
        assert targets.min() >= 0.1 / 10 - 1e-6  # smoothing leaves every class its share
    evaluation = model.data_preprocessor(batch(6), training=False)
    assert evaluation['data_samples']['label'].shape == (6,)
    with pytest.raises(ValueError, match='even batch'):
        model.data_preprocessor(batch(5), training=True)


def test_random_erasing_in_training_only():
    model = build(data_preprocessor=dict(random_erasing=dict(probability=1.0, mode='pixel')))
    plain = build()
    data = batch(4)
    erased = model.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), True
    )
    reference = plain.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), True
    )
    assert not torch.equal(erased['inputs'], reference['inputs'])
    same = model.data_preprocessor(
        dict(inputs=data['inputs'].clone(), data_samples=dict(data['data_samples'])), False
    )
    torch.testing.assert_close(same['inputs'], reference['inputs'])


def test_labels_outside_the_head_are_named():
    model = build()
    with pytest.raises(ValueError, match='label -1 is outside \\[0, 10\\).*class folder'):
        model.data_preprocessor(batch(2, labels=[0, -1]))
    with pytest.raises(ValueError, match='label 12 is outside'):
        model.data_preprocessor(batch(2, labels=[12, 1]))


def test_losses_hard_and_soft_targets():
    model = build(label_smoothing=0.1)
    images = torch.randn(4, 3, 32, 32)
    labels = torch.tensor([0, 1, 2, 3])
    logits = model(images, mode='tensor')
    loss = model(images, dict(label=labels), mode='loss')['loss']
    torch.testing.assert_close(
        loss, torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    )
    soft = torch.full((4, 10), 0.1)
    loss = model(images, dict(label=soft), mode='loss')['loss']
    torch.testing.assert_close(loss, (-soft * logits.log_softmax(dim=1)).sum(dim=1).mean())
    predictions = model(images, dict(label=labels), mode='predict')
    assert [p['gt_label'] for p in predictions] == [0, 1, 2, 3]
    torch.testing.assert_close(predictions[0]['pred_score'], logits[0].softmax(dim=0))


def test_accuracy_topk_against_direct_count():
    torch.manual_seed(0)
    scores = torch.randn(50, 8).softmax(dim=1)
    labels = torch.randint(0, 8, (50,))
    metric = MAEAccuracy(topk=(1, 5))
    metric.process(
        None, [dict(pred_score=s, gt_label=int(g)) for s, g in zip(scores, labels, strict=True)]
    )
    result = metric.compute_metrics(metric.results)
    top5 = scores.topk(5, dim=1).indices
    assert result['top1'] == pytest.approx(100 * (scores.argmax(1) == labels).float().mean())
    assert result['top5'] == pytest.approx(
        100 * (top5 == labels[:, None]).any(dim=1).float().mean()
    )


def test_rand_augment_keeps_size_and_survives_zero_bit_posterize():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    augment = MAERandAugment('rand-m9-mstd0.5-inc1', input_size=48)
    assert augment.augment.num_layers == 2
    for _ in range(50):
        assert augment(dict(img=image))['img'].size == (48, 40)
    # magnitude 10 asks posterize for 0 bits: black, as with Pillow < 13
    op = next(o for o in augment.augment.ops if o.name == 'PosterizeIncreasing')
    op.prob, op.magnitude, op.magnitude_std = 1.0, 10, 0
    assert np.asarray(op(image)).max() == 0


def test_evaluation_resize_then_centre_crop():
    image = Image.new('RGB', (300, 200))
    image = MAEResize(256)(dict(img=image))['img']
    assert image.size == (384, 256)  # the shorter side becomes 256
    assert MAECenterCrop(224)(dict(img=image))['img'].size == (224, 224)


def test_pretrained_errors_name_the_problem(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build(init_cfg=dict(type='Pretrained', checkpoint=missing)).init_weights()
    other = str(tmp_path / 'other.pth')
    mae = tiny_mae(img_size=32, patch_size=8)  # embed_dim 48; the classifier below has 96
    torch.save({'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}}, other)
    wide = build(
        arch=dict(patch_size=8, embed_dim=96, depth=2, num_heads=3),
        init_cfg=dict(type='Pretrained', checkpoint=other),
    )
    with pytest.raises(ValueError, match='other.pth.*another architecture'):
        wide.init_weights()
    with pytest.raises(ValueError, match="type='Pretrained' only"):
        build(init_cfg=dict(type='Kaiming')).init_weights()


def test_pretrained_position_table_is_resampled_to_the_input(tmp_path):
    path = str(tmp_path / 'mae.pth')
    mae = tiny_mae(img_size=32, patch_size=8)  # 4 x 4 grid
    torch.save({'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}}, path)
    model = build(img_size=48, init_cfg=dict(type='Pretrained', checkpoint=path))  # 6 x 6
    model.init_weights()
    assert model.classifier.vit.pos_embed.shape == (1, 37, 48)
    torch.testing.assert_close(
        model.classifier.vit.pos_embed[:, 0], mae.encoder.vit.pos_embed[:, 0]
    )


@pytest.mark.parametrize('fmt', ['plugin', 'official', 'timm', 'lightly'])
def test_every_readable_format_fine_tunes(tmp_path, fmt):
    from mae_plugin.checkpoints import from_core

    mae = tiny_mae(img_size=32, patch_size=8)
    path = str(tmp_path / f'{fmt}.pth')
    torch.save(from_core(mae.state_dict(), fmt), path)
    model = build(init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    got = model.classifier.vit.state_dict()
    for name, value in mae.encoder.vit.state_dict().items():
        if name in got:
            torch.testing.assert_close(got[name], value, msg=name)


def test_linear_probe_gives_the_encoder_no_gradient():
    model = build(pool='cls', head_bn=True, trainable_blocks=0, drop_path_rate=0.0)
    model.train()
    loss = model(torch.randn(4, 3, 32, 32), dict(label=torch.arange(4)), mode='loss')['loss']
    loss.backward()
    vit = model.classifier.vit
    assert all(p.grad is None for n, p in vit.named_parameters() if not n.startswith('head.'))
    assert vit.head[1].weight.grad is not None
    assert not any(b.training for b in vit.blocks) and vit.head.training  # BN stats update
