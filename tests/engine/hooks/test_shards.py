"""ShardStreamStateHook: the readers' positions are gathered only for a checkpoint."""

import uuid

import pytest
import torch

from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from tests.helpers.shards import SHARDS, options


def test_positions_are_gathered_only_for_a_checkpoint(tmp_path, demo_root, shard_root, monkeypatch):
    """Training iterations make no collective; the checkpoint hook gathers on every rank once,
    and a save that skipped the gather on a multi-process run is refused, not written stale."""
    from mae_plugin.engine.hooks import checkpoint as checkpoint_module
    from mae_plugin.engine.hooks import shards as hook_module

    opts = options(demo_root, shard_root, 2, 2, workers=0)
    cfg = build_train_config(SHARDS, work_dir=str(tmp_path / 'run'), cfg_options=opts)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    runner = build_runner(cfg)
    runner.train()  # 2 iterations, a checkpoint at the 2nd
    hook = next(h for h in runner.hooks if type(h).__name__ == 'ShardStreamStateHook')
    saved = torch.load(tmp_path / 'run' / 'iter_2.pth', weights_only=True)['shard_stream']
    assert hook.gathered_at == 2 - 1 and torch.equal(saved['readers'], hook.local)

    gathers = []
    monkeypatch.setattr(hook_module, 'get_dist_info', lambda: (0, 2))  # as rank 0 of 2
    monkeypatch.setattr(checkpoint_module, 'get_dist_info', lambda: (0, 2))  # its save check
    monkeypatch.setattr(hook_module, 'all_gather', lambda t: gathers.append(1) or [t, t + 100])
    batch = dict(data_samples=dict(stream=torch.tensor([[0, 0, 0, 3]])))
    for _ in range(5):
        hook.after_train_iter(runner, 0, batch)
    assert gathers == []
    with pytest.raises(RuntimeError, match='were not gathered; save with .AtomicCheckpointHook'):
        hook.before_save_checkpoint(runner, {})
    hook.before_save_checkpoint_on_every_rank(runner)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert gathers == [1] and checkpoint['shard_stream']['readers'].shape == (2, 3)
