"""MAEFSDP2Strategy under MAEFlexibleRunner end to end: against DDP, kill -9, world-size
change, timm export, two simulated nodes (torchrun, 2 CPU processes on gloo, slow). The
comparisons with DDP read one pair of runs, both launched as two nodes (the fixture
two_node_runs, tests/conftest.py)."""

import glob
import os

import pytest
import torch

from benchmarks.memory import memory_model
from mae_plugin.checkpoints import load_checkpoint_file
from mae_plugin.engine.runtime.sharded_checkpoint import sharded_folder
from tests.helpers import in_process, processes, scalars
from tests.helpers.fsdp_runs import ITERS, last_checkpoint, probed, probes, torchrun
from tests.helpers.mmengine_runs import tiny_options
from tests.helpers.models import demo_mae, tiny_timm_vit
from tests.helpers.paths import DEMO_FSDP
from tools.convert_checkpoint import main as convert_main

FSDP_CONFIGS = ['mae_vit-t_demo_fsdp.py', 'mae_vit-h_1600e_fsdp.py', 'mae_vit-g_1600e_fsdp.py']


@pytest.mark.slow
@pytest.mark.parametrize('name', ['ddp', 'fsdp'])
def test_two_nodes_on_one_machine_train_the_demo(two_node_runs, name):
    work = two_node_runs[name]
    out = open(os.path.join(work, 'output.txt')).read()
    assert 'Distributed training: True' in out and f'Iter(train) [{ITERS}/{ITERS}]' in out
    ranks = probes(work)  # one process per node, each its own rank and images
    assert len(ranks[0]['losses']) == len(ranks[1]['losses']) == ITERS
    assert ranks[0]['losses'] != ranks[1]['losses']
    assert sorted(scalars.logged(work, 'loss')) == list(range(1, ITERS + 1))
    torch.load(os.path.join(work, f'iter_{ITERS}.pth'), weights_only=True)


@pytest.mark.slow
def test_sharded_losses_equal_ddp_and_each_rank_holds_half(tmp_path, two_node_runs):
    ddp, fsdp = probes(two_node_runs['ddp']), probes(two_node_runs['fsdp'])
    for rank in (0, 1):
        assert len(fsdp[rank]['losses']) == ITERS
        torch.testing.assert_close(
            torch.tensor(fsdp[rank]['losses']), torch.tensor(ddp[rank]['losses']), atol=1e-5, rtol=0
        )
        # the plugin's weight-decay exemptions, parameter by parameter
        assert {k.removeprefix('module.'): v for k, v in ddp[rank]['decay'].items()} == fsdp[rank][
            'decay'
        ]
        for what in ('param_bytes', 'optim_bytes'):
            assert 0.45 < fsdp[rank][what] / ddp[rank][what] < 0.56, (what, fsdp[rank], ddp[rank])
    # the shards add up to DDP's bytes, which are docs/scaling.md's 4 P and 8 P_t
    paper = memory_model(demo_mae())
    assert (
        ddp[0]['param_bytes'] == 4 * paper.params == fsdp[0]['param_bytes'] + fsdp[1]['param_bytes']
    )
    assert (
        ddp[0]['optim_bytes']
        == 8 * paper.trained
        == fsdp[0]['optim_bytes'] + fsdp[1]['optim_bytes']
    )

    # the consolidated checkpoint converts to timm and loads strictly, weights unchanged
    consolidated = os.path.join(two_node_runs['fsdp'], f'iter_{ITERS}.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(consolidated) == []
    out = str(tmp_path / 'timm.pth')
    convert_main([consolidated, out, '--to', 'timm'])
    vit = tiny_timm_vit()
    vit.load_state_dict(torch.load(out, weights_only=True), strict=True)
    state = load_checkpoint_file(consolidated)['state_dict']
    torch.testing.assert_close(
        vit.blocks[1].mlp.fc2.weight,
        state['mae.encoder.vit.blocks.1.mlp.fc2.weight'],
        rtol=0,
        atol=0,
    )


@pytest.mark.slow
def test_knn_monitor_and_pictures_run_on_every_rank_of_a_sharded_model(two_node_runs):
    """Under FSDP2 every rank runs the monitors' forwards (through the root module) and rank 0
    logs: the kNN rows, from the random start (before training) on, equal DDP's for the same
    weights, and the reconstruction pictures are written."""
    knn = {}
    for name, work in two_node_runs.items():
        rows = scalars.runs(work)[0]
        knn[name] = {row['step']: row['knn_top1'] for row in rows if 'knn_top1' in row}
        pictures = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', 'reconstruction_*'))
        assert len(pictures) == 1, pictures  # at step 4 (the end repeats the same step)
    assert sorted(knn['fsdp']) == [0, ITERS]
    assert knn['fsdp'] == pytest.approx(knn['ddp'], abs=1e-6)


@pytest.mark.slow
def test_kill_9_during_a_save_then_resume_at_two_and_at_one_process(tmp_path, demo_root):
    work = str(tmp_path / 'run')
    options = tiny_options(demo_root, 6, 2, **{'default_hooks.checkpoint.max_keep_ckpts': 2})
    killed = probed(
        tmp_path,
        DEMO_FSDP,
        'killed_at_4',
        hooks=["dict(type='KillDuringSaveHook', at=4)"],
        imports=['kill_during_save'],
    )
    proc = processes.run(torchrun(killed, work, options, check=False), check=False)
    assert proc.returncode != 0 and 'Signal 9 (SIGKILL)' in proc.output
    assert 'Saving checkpoint at 4 iterations' in proc.output
    assert last_checkpoint(work) == os.path.join(work, 'iter_2.pth')
    # rank 0 died writing iter_4.pth, after its shards were complete
    assert os.path.isdir(sharded_folder(os.path.join(work, 'iter_4.pth')))
    assert not os.path.exists(os.path.join(work, 'iter_4.pth'))

    out = torchrun(probed(tmp_path, DEMO_FSDP, 'resumed'), work, options, extra=['--resume'])
    assert 'resumed epoch: 0, iter: 2' in out and 'Iter(train) [6/6]' in out
    kept = sorted(f for f in os.listdir(work) if f.startswith('iter_'))
    assert kept == ['iter_4.pth', 'iter_4.pth.sharded', 'iter_6.pth', 'iter_6.pth.sharded']
    started = probes(work)[0]
    assert started['start_step'] == 2.0  # AdamW's step count came back with its moments

    # the 2-rank shards on one process (no launcher: nothing to shard), tools/train.py's
    # functions in this process (in_process.py)
    one = probed(tmp_path, DEMO_FSDP, 'one_process')
    fourth = os.path.join(work, 'iter_4.pth')
    _, out = in_process.train(one, work, options, '--resume', fourth)
    assert 'resumed epoch: 0, iter: 4' in out and 'Iter(train) [6/6]' in out
    started = probes(work, ranks=(0,))[0]
    state = load_checkpoint_file(fourth)['state_dict']
    assert started['start'].keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(started['start'][key], value), key
    assert started['start_step'] == 4.0


@pytest.mark.slow
def test_nan_weights_at_save_stop_every_rank_and_keep_the_previous_checkpoint(tmp_path, demo_root):
    """Rank 0 alone holds the consolidated weights that FiniteWeightsHook checks: the other
    rank must stop too instead of waiting in the next collective."""
    work = str(tmp_path / 'run')
    options = tiny_options(demo_root, 6, 2, **{'default_hooks.checkpoint.max_keep_ckpts': 1})
    config = probed(tmp_path, DEMO_FSDP, 'nan_at_4', hooks=["dict(type='NaNWeightsHook', at=4)"])
    proc = processes.run(torchrun(config, work, options, check=False), timeout=300, check=False)
    out = proc.output
    assert proc.returncode != 0
    assert "weight 'mae.encoder.vit.cls_token' holds non-finite values" in out  # rank 0
    assert 'another rank refused to write the checkpoint' in out, out[-4000:]  # rank 1
    assert last_checkpoint(work) == os.path.join(work, 'iter_2.pth')
    kept = sorted(f for f in os.listdir(work) if f.startswith('iter_'))
    assert kept == ['iter_2.pth', 'iter_2.pth.sharded']
