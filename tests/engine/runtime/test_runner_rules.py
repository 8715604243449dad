"""The runners' lr rule: the lr counts gradient accumulation and a strategy without the
rule is refused; resuming on another batch layout (batch x accumulation on one process) under
``auto_scale_lr`` gives every later iteration the lr a fresh run of the new layout has, and
without ``auto_scale_lr`` the checkpoint's lr is kept, for MAERunner (DDP) and MAEFlexibleRunner
(MAEFSDP2Strategy); an absolute floor cannot follow another layout and is refused."""

import pytest

from mae_plugin.engine.runtime.launch import build_runner
from tests.helpers.fsdp_runs import SCALED, fsdp_config
from tests.helpers.layouts import assert_same_lrs, in_process
from tests.helpers.paths import DEMO, DEMO_FSDP


def test_lr_counts_accumulation_and_a_strategy_without_the_rule_is_refused(tmp_path, demo_root):
    scaled = {'auto_scale_lr.enable': True, 'auto_scale_lr.base_batch_size': 256}
    cfg = fsdp_config(tmp_path, demo_root, 2, **scaled, **{'optim_wrapper.accumulative_counts': 2})
    runner = build_runner(cfg)
    runner.train()
    # batch 4 x 1 process x 2 accumulation
    lr = runner.optim_wrapper.optimizer.param_groups[0]['initial_lr']
    assert lr == pytest.approx(1.5e-3 * 8 / 256)

    cfg = fsdp_config(tmp_path, demo_root, 2, work='single', **scaled)
    cfg.strategy = dict(type='SingleDeviceStrategy')
    with pytest.raises(ValueError, match='SingleDeviceStrategy scales the lr without gradient'):
        build_runner(cfg)


@pytest.mark.parametrize('config', [DEMO, DEMO_FSDP], ids=['mae_runner', 'fsdp2'])
def test_another_batch_and_accumulation_on_one_process_follow_the_lr_rule(
    tmp_path, demo_root, config, capsys
):
    # batch 4 x 1 accumulation, resumed at 2 with batch 2 x 4 (effective 8: twice the lr)
    first = in_process(tmp_path, demo_root, 'run', config, **SCALED)
    other = {'train_dataloader.batch_size': 2, 'optim_wrapper.accumulative_counts': 4}
    fresh = in_process(tmp_path, demo_root, 'fresh', config, **SCALED, **other)
    checkpoint = str(tmp_path / 'run' / 'iter_2.pth')
    capsys.readouterr()
    resumed = in_process(tmp_path, demo_root, 'run', config, checkpoint, **SCALED, **other)
    assert sorted(resumed) == [3, 4]
    assert_same_lrs(resumed, fresh, (3, 4))
    assert resumed[3][0] == pytest.approx(2 * first[3][0], rel=1e-6)
    out = capsys.readouterr()
    assert 'resumed from a run of 1 processes x 4 x 1; lr rescaled from' in out.out + out.err

    # without auto_scale_lr the lr does not depend on the layout: the checkpoint's is kept
    in_process(tmp_path, demo_root, 'plain', config)
    again = in_process(
        tmp_path, demo_root, 'plain', config, str(tmp_path / 'plain' / 'iter_2.pth'), **other
    )
    plain = in_process(tmp_path, demo_root, 'plain_fresh', config)
    assert_same_lrs(again, plain, (3, 4))


def test_an_absolute_floor_cannot_follow_another_layout_and_is_refused(tmp_path, demo_root):
    """An absolute eta_min is not scaled by auto_scale_lr in a fresh run: no rescale of the
    resumed state gives a fresh run's lr (mid-cosine), so it is an error naming the value."""
    floor = {'param_scheduler.1.eta_min': 1e-6, 'param_scheduler.1.eta_min_ratio': None}
    in_process(tmp_path, demo_root, 'run', **SCALED, **floor)
    with pytest.raises(ValueError, match='CosineAnnealingLR anneals to the absolute eta_min=1e-06'):
        in_process(
            tmp_path,
            demo_root,
            'run',
            DEMO,
            str(tmp_path / 'run' / 'iter_2.pth'),
            **SCALED,
            **floor,
            **{'train_dataloader.batch_size': 2},
        )
