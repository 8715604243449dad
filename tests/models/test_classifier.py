"""The evaluation classifier: official forward, head init, freezing, pretrained load."""

import pytest
import torch

from mae_plugin.checkpoints.load import load_encoder_weights
from mae_plugin.models.classifier import ViTClassifier
from tests.helpers.models import tiny_mae

SMALL = dict(img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3)


def classifier(**kw):
    torch.manual_seed(0)
    return ViTClassifier(10, **{**SMALL, **kw}).eval()


def official_forward(model, images, pool):
    """models_vit.VisionTransformer.forward_features + head, written out."""
    vit = model.vit
    x = vit.patch_embed(images)
    x = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + vit.pos_embed
    for block in vit.blocks:
        x = block(x)
    if pool == 'avg':
        feature = vit.fc_norm(x[:, 1:].mean(dim=1))  # the final norm is removed
    else:
        feature = vit.norm(x)[:, 0]
    return vit.head(feature)


@pytest.mark.parametrize('pool', ['avg', 'cls'])
def test_forward_is_the_official_classifier(pool):
    model = classifier(pool=pool, head_init_std=0.02)
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(images), official_forward(model, images, pool))
    assert isinstance(model.vit.norm, torch.nn.Identity) == (pool == 'avg')


def test_head_init_std_and_zero_bias():
    model = ViTClassifier(1000, **{**SMALL, 'embed_dim': 384, 'num_heads': 6})
    weight = model.vit.head.weight
    assert weight.std().item() == pytest.approx(2e-5, rel=0.02)
    assert abs(weight.mean().item()) < 1e-6
    assert torch.count_nonzero(model.vit.head.bias) == 0


def test_linear_probe_head_is_batchnorm_without_affine_then_linear():
    model = classifier(pool='cls', head_bn=True, head_init_std=0.01, trainable_blocks=0)
    bn, linear = model.vit.head
    assert isinstance(bn, torch.nn.BatchNorm1d) and not bn.affine and bn.eps == 1e-6
    assert linear.weight.std().item() == pytest.approx(0.01, rel=0.25)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'vit.head.1.weight', 'vit.head.1.bias'}


@pytest.mark.parametrize('k', [0, 1, 2, 3])
def test_partial_finetuning_trains_exactly_the_last_k_blocks(k):
    model = classifier(trainable_blocks=k, drop_path_rate=0.1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    blocks = {int(n.split('.')[2]) for n in trainable if n.startswith('vit.blocks.')}
    assert blocks == set(range(3 - k, 3))
    assert {'vit.fc_norm.weight', 'vit.head.weight'} <= trainable
    assert not trainable & {'vit.cls_token', 'vit.pos_embed', 'vit.patch_embed.proj.weight'}
    model.train()
    assert [b.training for b in model.vit.blocks] == [i >= 3 - k for i in range(3)]
    assert model.vit.head.training


def test_partial_finetuning_cls_pool_trains_the_final_norm_only_with_blocks():
    frozen = classifier(pool='cls', trainable_blocks=0)
    partial = classifier(pool='cls', trainable_blocks=1)
    assert not frozen.vit.norm.weight.requires_grad and partial.vit.norm.weight.requires_grad


def test_rejects_bad_options():
    with pytest.raises(ValueError, match='trainable_blocks'):
        classifier(trainable_blocks=4)
    with pytest.raises(ValueError, match="pool must be 'avg' or 'cls'"):
        classifier(pool='max')


@pytest.mark.parametrize('pool', ['avg', 'cls'])
def test_pretrained_encoder_loads_with_the_heads_new(pool):
    mae = tiny_mae()
    state = {f'mae.{k}': v for k, v in mae.state_dict().items()}
    model = classifier(pool=pool, depth=2)
    report = load_encoder_weights(
        model.vit,
        {'state_dict': state},
        model.grid_size,
        new_ok=model.new_keys,
        unused_ok=model.unused_keys,
    )
    for name, value in mae.encoder.vit.state_dict().items():
        if name in model.vit.state_dict():
            torch.testing.assert_close(model.vit.state_dict()[name], value)
    assert set(report.left_new) == (
        {'fc_norm.weight', 'fc_norm.bias'} if pool == 'avg' else set()
    ) | {'head.weight', 'head.bias'}
    assert ('encoder.vit.norm.weight' in report.dropped) == (pool == 'avg')
    # the position table is a trainable copy of the pretrained sin-cos one
    assert model.vit.pos_embed.requires_grad


def test_pretrained_encoder_of_another_architecture_is_refused():
    mae = tiny_mae()  # embed_dim 48
    model = classifier(embed_dim=96, depth=2)
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        load_encoder_weights(
            model.vit,
            {'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}},
            model.grid_size,
            new_ok=model.new_keys,
            unused_ok=model.unused_keys,
        )
