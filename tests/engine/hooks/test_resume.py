"""The resume hooks: a resume of another schedule is refused from plain data."""

import pytest
import torch

from tests.helpers.mmengine_runs import tiny_runner


def test_resume_of_another_schedule_is_refused_from_plain_data(tmp_path, demo_root):
    runner = tiny_runner(tmp_path, demo_root, **{'default_hooks.checkpoint.interval': 1})
    runner.train()
    checkpoint = torch.load(str(tmp_path / 'run' / 'iter_1.pth'), weights_only=True)
    assert checkpoint['meta']['schedule']['train_cfg']['max_iters'] == 1
    longer = tiny_runner(tmp_path, demo_root, **{'train_cfg.max_iters': 5, 'resume': True})
    with pytest.raises(ValueError, match=r'another schedule.*train_cfg'):
        longer.train()
