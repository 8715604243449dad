"""MAEClassifier: labels outside the head are named, hard and soft targets' losses, pretrained
weights of every readable format (errors naming the problem, the position table resampled to
the input), and a linear probe that gives the encoder no gradient."""

import pytest
import torch

import mae_plugin  # noqa: F401
from tests.helpers.classifier import batch, build
from tests.helpers.models import tiny_mae


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
