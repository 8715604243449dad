"""The lr rule of the official recipe (training/lr.py), and both runners applying that one."""

import pytest

from mae_plugin.engine.runtime import runner_rules
from mae_plugin.lightning import schedule
from mae_plugin.training.lr import BASE_BATCH, effective_batch_size, scaled_lr


def test_the_official_pretraining_lr():
    # main_pretrain.py: blr 1.5e-4 at 256, 64 images on each of 8 GPUs x 8 nodes, no
    # accumulation -> 4096 images per step, lr 2.4e-3 (the paper's Table 8 footnote)
    assert BASE_BATCH == 256
    assert effective_batch_size(64, 64, 1) == 4096
    assert scaled_lr(1.5e-4, 64, 64, 1) == pytest.approx(2.4e-3)


@pytest.mark.parametrize('layout', [(4096, 1, 1), (512, 8, 1), (64, 8, 8), (32, 16, 8)])
def test_every_layout_of_one_effective_batch_gets_one_lr(layout):
    assert scaled_lr(1.5e-4, *layout) == pytest.approx(2.4e-3)


def test_a_base_batch_other_than_256_scales_from_it():
    assert scaled_lr(1e-3, 32, 2, 2, base_batch=128) == pytest.approx(1e-3)


def test_both_runners_use_this_rule():
    assert schedule.scaled_lr is scaled_lr
    assert runner_rules.effective_batch_size is effective_batch_size
    auto = dict(enable=True, base_batch_size=256)
    assert runner_rules.lr_factor(auto, 8, 64, 8) == scaled_lr(1.0, 64, 8, 8)
