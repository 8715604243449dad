"""Layer-wise lr decay groups, checked against the official ``util/lr_decay.py`` rules."""

import pytest
import torch
from torch import nn

from mae_plugin.models.classifier import ViTClassifier
from mae_plugin.models.layer_decay import (
    find_vit,
    is_no_decay,
    layer_decay_param_groups,
    vit_layer_id,
)


def official_layer_id(name, num_layers):
    """get_layer_id_for_vit of the official repository, num_layers = depth + 1."""
    if name in ['cls_token', 'pos_embed']:
        return 0
    if name.startswith('patch_embed'):
        return 0
    if name.startswith('blocks'):
        return int(name.split('.')[1]) + 1
    return num_layers


def test_layer_ids_match_the_official_mapping():
    model = ViTClassifier(10, img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3)
    for name, _ in model.vit.named_parameters():
        assert vit_layer_id(name, 3) == official_layer_id(name, 4), name


def test_every_parameter_gets_the_official_lr_and_weight_decay():
    depth, lr, wd, rate = 3, 4e-3, 0.05, 0.65
    model = nn.ModuleDict(
        dict(
            backbone=ViTClassifier(
                10, img_size=32, patch_size=8, embed_dim=48, depth=depth, num_heads=3
            ),
            neck=nn.Linear(10, 4),
        )
    )
    groups = layer_decay_param_groups(model, lr, wd, rate)
    by_param = {id(p): g for g in groups for p in g['params']}
    for name, param in model.named_parameters():
        group = by_param[id(param)]
        vit_name = name.removeprefix('backbone.vit.')
        layer = (
            official_layer_id(vit_name, depth + 1) if name.startswith('backbone.') else depth + 1
        )
        assert group['lr'] == pytest.approx(lr * rate ** (depth + 1 - layer)), name
        exempt = param.ndim == 1 or vit_name in ('pos_embed', 'cls_token')
        assert group['weight_decay'] == (0.0 if exempt else wd), name
    assert groups[0]['layer_id'] == depth + 1  # the log shows the first group's lr: the base
    assert sum(len(g['params']) for g in groups) == len(list(model.parameters()))


def test_frozen_parameters_are_left_out():
    model = ViTClassifier(
        10, img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3, trainable_blocks=1
    )
    groups = layer_decay_param_groups(model, 1e-3, 0.05, 0.75)
    params = {id(p) for g in groups for p in g['params']}
    assert params == {id(p) for p in model.parameters() if p.requires_grad}
    assert {g['layer_id'] for g in groups} == {3, 4}


def test_position_tables_and_relative_positions_get_no_decay():
    table = nn.Parameter(torch.zeros(27, 8))
    assert is_no_decay('backbone.blocks.0.attn.rel_pos_h', table)
    assert is_no_decay('blocks.0.attn.relative_position_bias_table', table)
    assert is_no_decay('pos_embed', nn.Parameter(torch.zeros(1, 5, 8)))
    assert not is_no_decay('blocks.0.attn.qkv.weight', table)


def test_find_vit_needs_exactly_one():
    vit = ViTClassifier(10, img_size=32, patch_size=8, embed_dim=48, depth=1, num_heads=3)
    assert find_vit(vit)[0] == 'vit.'
    with pytest.raises(ValueError, match='exactly one ViT.*found 0'):
        find_vit(nn.Linear(2, 2))
    with pytest.raises(ValueError, match='found 2'):
        find_vit(
            nn.ModuleList(
                [
                    vit,
                    ViTClassifier(
                        10, img_size=32, patch_size=8, embed_dim=48, depth=1, num_heads=3
                    ),
                ]
            )
        )
