"""The shard stream under MMEngine's runner, end to end: the demo shards config trains, and a run
resumed mid-epoch (in process, and 2 ranks x 2 workers under torchrun) continues the stream
exactly."""

import os
import sys

import pytest
import torch
from torch.utils.data import DataLoader

from mae_plugin.data.shards import ShardStream, reader_shards
from tests.helpers.mmengine_runs import cli, run_cli
from tests.helpers.paths import TRAIN
from tests.helpers.ports import free_port
from tests.helpers.shards import SHARDS, options, train


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
