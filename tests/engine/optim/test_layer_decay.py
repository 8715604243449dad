"""The layer-decay optimizer constructor, built through MMEngine."""

import pytest
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401
from tests.helpers.classifier import build


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
