"""Resuming on another batch layout: after ``rescale_resumed_lr`` every later step has the lr of
a fresh run of the new layout under the official rule (base x batch x processes x accumulation /
256), in every group and through warm-up and cosine; schedulers the rescale cannot follow are
refused by name; ``batch_layout`` reads a runner's layout."""

import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR, OneCycleLR

from mae_plugin.engine.runtime.rescale import batch_layout, rescale_resumed_lr

LOG = logging.getLogger('test_rescale')
BASE_LR = 1.5e-4


def official_lr(batch, processes, accumulation):
    """main_pretrain.py: ``args.lr = args.blr * eff_batch_size / 256``."""
    return BASE_LR * batch * processes * accumulation / 256


def layout(batch, processes, accumulation):
    """``meta['batch_layout']`` of a run of this layout."""
    return dict(
        processes=processes,
        batch=batch,
        accumulation=accumulation,
        lr_factor=batch * processes * accumulation / 256,
    )


def build(lr, accumulation=1, **cosine):
    """Two AdamW groups (one without decay) under warm-up (3 steps) then cosine (5 steps)."""
    weight, bias = torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.AdamW([dict(params=[weight]), dict(params=[bias], weight_decay=0)], lr)
    wrapper = OptimWrapper(optimizer, accumulative_counts=accumulation)
    schedulers = [
        LinearLR(wrapper, start_factor=0.1, by_epoch=False, begin=0, end=3),
        CosineAnnealingLR(wrapper, by_epoch=False, begin=3, end=8, T_max=5, **cosine),
    ]
    return wrapper, schedulers


def run(wrapper, schedulers, steps):
    """The lr of each group at each of ``steps`` optimizer steps."""
    lrs = []
    for _ in range(steps):
        lrs.append([group['lr'] for group in wrapper.optimizer.param_groups])
        wrapper.optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


# the resumed optimizer's step counter starts again at 0 while its schedulers' do not
@pytest.mark.filterwarnings('ignore:Detected call of `scheduler.step\\(\\)` before')
@pytest.mark.parametrize('resume_at', [2, 5])  # inside the warm-up, inside the cosine
@pytest.mark.parametrize('cosine', [{}, dict(eta_min_ratio=0.1)], ids=['to_0', 'to_ratio'])
def test_resumed_lrs_are_a_fresh_run_of_the_new_layout(resume_at, cosine):
    old, new = layout(64, 2, 1), layout(16, 1, 2)  # effective 128 -> 32: a quarter of the lr
    wrapper, schedulers = build(official_lr(64, 2, 1), **cosine)
    run(wrapper, schedulers, resume_at)
    states = wrapper.state_dict(), [s.state_dict() for s in schedulers]

    resumed, resumed_schedulers = build(official_lr(16, 1, 2), 2, **cosine)
    resumed.load_state_dict(states[0])
    for scheduler, state in zip(resumed_schedulers, states[1], strict=True):
        scheduler.load_state_dict(state)
    ratio = rescale_resumed_lr(resumed, resumed_schedulers, old, new, LOG)
    assert ratio == pytest.approx(0.25)

    fresh, fresh_schedulers = build(official_lr(16, 1, 2), 2, **cosine)
    expected = run(fresh, fresh_schedulers, 8)[resume_at:]
    got = run(resumed, resumed_schedulers, 8 - resume_at)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(expected), rtol=1e-12, atol=0)
    initial = [group['initial_lr'] for group in resumed.optimizer.param_groups]
    assert initial == pytest.approx([official_lr(16, 1, 2)] * 2, rel=1e-12)


def test_the_same_factor_changes_nothing_whatever_the_scheduler():
    wrapper, _ = build(1e-3)
    cycle = OneCycleLR(wrapper, eta_max=1e-2, total_steps=10, by_epoch=False)
    before = [dict(g) for g in wrapper.optimizer.param_groups]
    same = layout(32, 2, 1)
    assert rescale_resumed_lr(wrapper, [cycle], same, layout(64, 1, 1), LOG) == 1.0
    assert [dict(g) for g in wrapper.optimizer.param_groups] == before


def test_schedulers_the_rescale_cannot_follow_are_refused_by_name():
    wrapper, schedulers = build(1e-3)
    cycle = OneCycleLR(wrapper, eta_max=1e-2, total_steps=10, by_epoch=False)
    with pytest.raises(ValueError, match='OneCycleLR holds lr values the rescale cannot follow'):
        rescale_resumed_lr(wrapper, [cycle], layout(32, 1, 1), layout(64, 1, 1), LOG)
    wrapper, schedulers = build(1e-3, eta_min=1e-6)
    with pytest.raises(ValueError, match='CosineAnnealingLR anneals to the absolute eta_min=1e-06'):
        rescale_resumed_lr(wrapper, schedulers, layout(32, 1, 1), layout(64, 1, 1), LOG)
    wrapper, schedulers = build(1e-3, eta_min_ratio=0.1)  # a fraction of the lr: follows
    assert rescale_resumed_lr(wrapper, schedulers, layout(32, 1, 1), layout(64, 1, 1), LOG) == 2


def fake_runner(batch_size, batch_sampler_size=None, processes=2, accumulation=3, enable=True):
    """What ``batch_layout`` reads of a runner: loader, world size, wrapper, ``auto_scale_lr``."""
    loader = SimpleNamespace(
        batch_size=batch_size, batch_sampler=SimpleNamespace(batch_size=batch_sampler_size)
    )
    wrapper, _ = build(1e-3, accumulation=accumulation)
    auto = dict(enable=enable, base_batch_size=256)
    return SimpleNamespace(
        train_dataloader=loader,
        world_size=processes,
        optim_wrapper=wrapper,
        cfg=dict(auto_scale_lr=auto),
    )


def test_batch_layout_is_the_official_rule_of_the_runners_layout():
    assert batch_layout(fake_runner(16)) == dict(
        processes=2, batch=16, accumulation=3, lr_factor=16 * 2 * 3 / 256
    )
    # mmdet's AspectRatioBatchSampler holds the batch size
    assert batch_layout(fake_runner(None, 8))['lr_factor'] == 8 * 2 * 3 / 256
    assert batch_layout(fake_runner(16, enable=False))['lr_factor'] == 1.0
    with pytest.raises(ValueError, match='batch size per process.*batch_size=None'):
        batch_layout(fake_runner(None))
