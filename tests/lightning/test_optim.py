"""The Lightning optimizer pieces against their references: AdamW groups as timm's
``param_groups_weight_decay`` makes them (no decay on biases and 1-D parameters, nor on the
tables and tokens the recipe names), names that survive wrappers, and the warm-up + cosine factor
of the official ``util/lr_sched.py``."""

import math

import pytest
from timm.optim import param_groups_weight_decay
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

from mae_plugin.lightning.optim import WarmupCosine, adamw_groups, no_decay_names, plain_name
from tests.helpers.lightning_runs import tiny_cli
from tests.helpers.models import tiny_mae


def decay_of(groups):
    """{id(parameter): weight decay} of optimizer ``groups``."""
    return {id(p): g['weight_decay'] for g in groups for p in g['params']}


def test_groups_are_timms_with_the_tokens_and_tables_of_the_recipe():
    """timm exempts 1-D parameters and biases; the recipe (as mmpretrain's, docs/design.md) also
    exempts the cls and mask tokens and the position tables (frozen: in no group at all)."""
    mae = tiny_mae()
    tokens = {'*.cls_token', '*.mask_token', '*.pos_embed'}
    expected = param_groups_weight_decay(mae, 0.05, no_weight_decay_list=tokens)
    got = adamw_groups(mae, 0.05, no_decay_names(mae))
    assert decay_of(got) == decay_of(expected)
    assert [(g['name'], g['weight_decay']) for g in got] == [('decay', 0.05), ('no_decay', 0.0)]
    no_decay = {n for n, p in mae.named_parameters() if id(p) in {id(q) for q in got[1]['params']}}
    assert {'encoder.vit.cls_token', 'decoder.mask_token', 'decoder.norm.weight'} <= no_decay
    frozen = [p for n, p in mae.named_parameters() if n.endswith('pos_embed')]
    assert frozen and not {id(p) for p in frozen} & decay_of(got).keys()


def test_plain_name_strips_only_whole_wrapper_parts():
    wrapped = (
        '_orig_mod.mae._fsdp_wrapped_module.encoder.blocks.0._checkpoint_wrapped_module.attn.'
        'qkv.weight'
    )
    assert plain_name(wrapped) == 'mae.encoder.blocks.0.attn.qkv.weight'
    assert plain_name('head.my_orig_mod.bias') == 'head.my_orig_mod.bias'


def official_lr(step, steps_per_epoch, lr, warmup_epochs, epochs):
    """facebookresearch/mae util/lr_sched.adjust_learning_rate at fractional epoch."""
    epoch = step / steps_per_epoch
    if epoch < warmup_epochs:
        return lr * epoch / warmup_epochs
    return lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup_epochs) / (epochs - warmup_epochs)))


@pytest.mark.parametrize('per_epoch, warmup, epochs', [(4, 2, 5), (3, 0, 2), (7, 1, 3)])
def test_warmup_cosine_is_the_official_factor_at_every_step(per_epoch, warmup, epochs):
    schedule = WarmupCosine(warmup * per_epoch, epochs * per_epoch)
    for step in range(epochs * per_epoch + 1):
        expected = official_lr(step, per_epoch, 1.0, warmup, epochs)
        assert schedule(step) == pytest.approx(expected, abs=1e-12), step
    assert schedule(epochs * per_epoch + 3) == pytest.approx(0.0, abs=1e-12)  # stays at 0


def test_a_warmup_as_long_as_the_schedule_is_an_error_naming_both():
    with pytest.raises(ValueError, match=r'warm-up \(8 optimizer steps\).*\(8 steps\)'):
        WarmupCosine(8, 8)


def test_weight_decay_groups_survive_wrappers_that_rename_parameters(tmp_path, demo_root):
    """Activation checkpointing (and FSDP) insert ``_checkpoint_wrapped_module.`` /
    ``_fsdp_wrapped_module.`` into parameter names: the groups stay those of the bare model."""
    module = tiny_cli(tmp_path, demo_root).model

    def decay_by_param(model):
        return {
            id(p): g['weight_decay']
            for g in adamw_groups(model, 0.05, module._no_decay)
            for p in g['params']
        }

    bare = decay_by_param(module)
    assert module._no_decay == no_decay_names(module)
    blocks = module.mae.encoder.vit.blocks
    for i, block in enumerate(list(blocks)):
        blocks[i] = checkpoint_wrapper(block)
    assert any('_checkpoint_wrapped_module' in n for n, _ in module.named_parameters())
    assert decay_by_param(module) == bare and sorted(set(bare.values())) == [0.0, 0.05]
