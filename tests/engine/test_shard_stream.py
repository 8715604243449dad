"""The shard stream under MMEngine's runner: the demo shards config trains, its checkpoints hold
where every reader stands, and a run resumed mid-epoch continues the stream exactly."""

import os
import sys
import uuid

import pytest
import torch
from torch.utils.data import DataLoader

from mae_plugin.data.pack import pack_folder
from mae_plugin.data.shards import ShardStream, reader_shards
from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from tests.helpers.in_process import end_loader_workers
from tests.helpers.mmengine_runs import TINY, cli, demo_options, run_cli, without_monitors
from tests.helpers.paths import ROOT, TRAIN
from tests.helpers.ports import free_port
from tests.helpers.scripts import shard_probe  # noqa: F401  (registers StreamProbeHook)

SHARDS = os.path.join(ROOT, 'configs', 'mae_vit-t_demo_shards.py')


@pytest.fixture(scope='module')
def shard_root(demo_root, tmp_path_factory):
    """The demo photographs as 5 shards of 4 (the demo config's packing)."""
    out = str(tmp_path_factory.mktemp('shards'))
    pack_folder(os.path.join(demo_root, 'train'), out, shard_size=4)
    return out


def options(demo_root, shard_root, iters, ckpt_interval, workers=2):
    """The tiny demo on the shards, without the pictures and the kNN monitor."""
    options = demo_options(
        demo_root,
        iters,
        ckpt_interval,
        **{
            **TINY,
            'train_dataloader.dataset.data_root': shard_root,
            'train_dataloader.num_workers': workers,
            'custom_hooks': [dict(type='ShardStreamStateHook'), dict(type='StreamProbeHook')],
            'default_hooks.checkpoint.max_keep_ckpts': 5,
        },
    )
    return without_monitors(options)


def train(work, opts, resume=None):
    cfg = build_train_config(SHARDS, work_dir=work, cfg_options=opts, resume=resume)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        end_loader_workers(runner)  # its 2 loader workers, now (in_process.py)


def probe(work, rank=0, first=0):
    return torch.load(os.path.join(work, f'stream_rank{rank}_iter{first}.pth'), weights_only=True)


@pytest.mark.slow
def test_resumed_run_continues_the_stream_without_repeating(tmp_path, demo_root, shard_root):
    """Uninterrupted 8 iterations vs. stopped at 3 (mid-epoch: 12 of 20 images consumed) and
    resumed: the resumed run trains exactly the batches the uninterrupted one trained next."""
    whole = str(tmp_path / 'whole')
    train(whole, options(demo_root, shard_root, 8, 3))
    rows = probe(whole)  # (iters, batch, 4): reader, epoch, k, pos
    assert rows.shape == (8, 4, 4)
    state = torch.load(os.path.join(whole, 'iter_3.pth'), weights_only=True)['shard_stream']
    assert state['readers'].tolist() == [rows[2, -1, 1:].tolist(), rows[1, -1, 1:].tolist()]
    assert (state['world_size'], state['workers'], state['num_shards']) == (1, 2, 5)

    resumed = str(tmp_path / 'resumed')
    train(resumed, options(demo_root, shard_root, 8, 3), resume=os.path.join(whole, 'iter_3.pth'))
    assert torch.equal(probe(resumed, first=3), rows[3:])

    # the first epoch of each reader, from both runs: every shard member once, no repeat
    seen = [tuple(r) for r in torch.cat([rows[:3], probe(resumed, first=3)]).flatten(0, 1).tolist()]
    assert len(seen) == len(set(seen))
    epoch0 = sorted((reader, k, pos) for reader, epoch, k, pos in seen if epoch == 0)
    expected = sorted(
        (reader, k, pos)
        for reader in (0, 1)
        for k in range(len(reader_shards(5, 0, 0, reader, 2)))
        for pos in range(1, 5)  # 4 images a shard
    )
    assert epoch0 == expected


def test_resume_with_another_layout_is_refused(tmp_path, demo_root, shard_root):
    work = str(tmp_path / 'run')
    train(work, options(demo_root, shard_root, 2, 2))
    with pytest.raises(ValueError, match=r"only with the layout.*'workers': 2.*'workers': 1"):
        train(
            str(tmp_path / 'again'),
            options(demo_root, shard_root, 2, 2, workers=1),
            resume=os.path.join(work, 'iter_2.pth'),
        )


@pytest.mark.slow
def test_torchrun_two_ranks_two_workers_one_epoch_then_resume(tmp_path, demo_root, shard_root):
    """tools/train.py with the shards config under torchrun (2 CPU processes, gloo, 2 loader
    workers each): the first epoch of the 4 readers is every demo image once; a run resumed
    from iteration 2 (checkpoint written by rank 0 with both ranks' readers) trains exactly the
    batches the whole run trained after it."""
    config = tmp_path / 'shards_probe.py'
    config.write_text(
        f'_base_ = {SHARDS!r}\n'
        "custom_imports = dict(imports=['mae_plugin', 'tests.helpers.scripts.shard_probe'])\n"
        "custom_hooks = [dict(type='ShardStreamStateHook'), dict(type='StreamProbeHook')]\n"
    )
    opts = options(demo_root, shard_root, 4, 2)
    opts.pop('custom_hooks')

    def launch(work, *extra):
        port = free_port()
        return run_cli(
            [
                sys.executable,
                '-m',
                'torch.distributed.run',
                '--nproc_per_node=2',
                '--master_port',
                port,
                TRAIN,
                str(config),
                '--launcher',
                'pytorch',
                '--work-dir',
                work,
                *extra,
            ]
            + cli(opts)
        )

    whole = str(tmp_path / 'whole')
    assert 'Distributed training: True' in launch(whole)
    rows = {rank: probe(whole, rank) for rank in (0, 1)}  # (4 iters, batch 4, 4)

    # what each (reader, epoch, k, pos) holds, from the stream read in-process
    names = {}
    for rank in (0, 1):
        stream = ShardStream(
            '*.tar', lambda s: dict(n=s['img_name']), shard_root, rank=rank, world_size=2, epochs=1
        )
        for batch in DataLoader(stream, batch_size=4, num_workers=2):
            for n, s in zip(batch['n'], batch['stream'].tolist(), strict=True):
                names[tuple(s)] = n
    assert len(names) == 20
    trained = [tuple(s) for r in (0, 1) for s in rows[r].flatten(0, 1).tolist()]
    assert len(set(trained)) == len(trained)
    first_epoch = sorted(names[s] for s in trained if s[1] == 0)
    assert first_epoch == sorted(names.values())  # every image once

    state = torch.load(os.path.join(whole, 'iter_2.pth'), weights_only=True)['shard_stream']
    assert state['readers'].shape == (4, 3) and state['world_size'] == 2
    resumed = str(tmp_path / 'resumed')
    launch(resumed, '--resume', os.path.join(whole, 'iter_2.pth'))
    for rank in (0, 1):
        assert torch.equal(probe(resumed, rank, first=2), rows[rank][2:])


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
