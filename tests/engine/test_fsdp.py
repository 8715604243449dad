"""MAEFSDP2Strategy under MAEFlexibleRunner: configs, lr rule, code-free and strict resume
(in process, one rank); against DDP, kill -9, world-size change, timm export, two simulated
nodes (torchrun, 2 CPU processes on gloo, slow). The comparisons with DDP read one pair of
runs, both launched as two nodes (the fixture two_node_runs, tests/conftest.py)."""

import glob
import os
import uuid

import pytest
import torch
from mmengine.config import Config

from benchmarks.memory import memory_model
from mae_plugin.checkpoints import load_checkpoint_file
from mae_plugin.engine.runtime.launch import build_runner, build_train_config
from mae_plugin.engine.runtime.sharded_checkpoint import sharded_folder
from tests.helpers import in_process, processes, scalars
from tests.helpers.fsdp_runs import ITERS, last_checkpoint, probed, probes, torchrun
from tests.helpers.mmengine_runs import tiny_options
from tests.helpers.models import demo_mae, tiny_timm_vit
from tests.helpers.paths import DEMO_FSDP, ROOT
from tools.convert_checkpoint import main as convert_main

FSDP_CONFIGS = ['mae_vit-t_demo_fsdp.py', 'mae_vit-h_1600e_fsdp.py', 'mae_vit-g_1600e_fsdp.py']


@pytest.mark.parametrize('name', FSDP_CONFIGS)
def test_configs_run_the_flexible_runner_with_the_strategy_and_the_hooks(name):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
    assert cfg.runner_type == 'mae_plugin.MAEFlexibleRunner'
    assert cfg.strategy.type == 'mae_plugin.MAEFSDP2Strategy'
    hooks = {h['type'].split('.')[-1] for h in cfg.default_hooks.values() if h is not None}
    assert {'AtomicCheckpointHook', 'FiniteWeightsHook', 'WeightsOnlyResumeHook'} <= hooks
    assert 'ResumeScheduleGuardHook' in hooks and 'ReconstructionVisHook' in hooks


def test_vit_g_encoder_has_about_one_billion_parameters():
    from mae_plugin.engine.registry import MODELS

    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'mae_vit-g_1600e_fsdp.py'))
    with torch.device('meta'):  # shapes only: 4 GB of fp32 weights never allocated
        encoder = MODELS.build(cfg.model.encoder)
    block = encoder.vit.blocks[0]
    assert (block.mlp.fc1.out_features, len(encoder.vit.blocks)) == (6144, 40)
    assert (block.attn.num_heads, encoder.embed_dim) == (16, 1408)
    count = sum(p.numel() for p in encoder.parameters())
    assert 1.00e9 < count < 1.02e9, count


def _runner(tmp_path, demo_root, iters, work='run', **options):
    cfg = build_train_config(
        DEMO_FSDP,
        work_dir=str(tmp_path / work),
        cfg_options=tiny_options(demo_root, iters, 1, **options),
    )
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    return cfg


def test_resume_never_runs_config_text_and_refuses_another_model(tmp_path, demo_root):
    build_runner(_runner(tmp_path, demo_root, 2)).train()
    first = str(tmp_path / 'run' / 'iter_1.pth')
    assert os.path.isdir(sharded_folder(first))
    crafted = load_checkpoint_file(first)
    marker = tmp_path / 'executed'
    for key in ('config', 'cfg'):
        # runs under the stock FlexibleRunner.resume (Config.fromstring)
        crafted['meta'][key] = f"__import__('os').system('touch {marker}')\ngpu_ids = [0, 1]\n"
    torch.save(crafted, first)

    cfg = _runner(tmp_path, demo_root, 2)
    cfg.resume, cfg.load_from = True, first
    runner = build_runner(cfg)
    runner.train()
    assert not marker.exists()
    assert runner.iter == 2

    other = _runner(tmp_path, demo_root, 2, **{'model.decoder.depth': 2})
    other.resume, other.load_from = True, str(tmp_path / 'run' / 'iter_2.pth')
    with pytest.raises(ValueError, match='is of another model: missing from the checkpoint') as err:
        build_runner(other).train()
    assert '(12): mae.decoder.blocks.1.attn.proj.bias, ' in str(err.value)  # a whole block
    wider = _runner(tmp_path, demo_root, 2, **{'model.decoder.embed_dim': 64})
    wider.resume, wider.load_from = other.resume, other.load_from
    with pytest.raises(ValueError, match='shape mismatches') as err:
        build_runner(wider).train()
    assert 'mae.decoder.blocks.0.mlp.fc2.weight: checkpoint (32, 128) vs model (64, 256)' in str(
        err.value
    )


def test_lr_counts_accumulation_and_a_strategy_without_the_rule_is_refused(tmp_path, demo_root):
    scaled = {'auto_scale_lr.enable': True, 'auto_scale_lr.base_batch_size': 256}
    cfg = _runner(tmp_path, demo_root, 2, **scaled, **{'optim_wrapper.accumulative_counts': 2})
    runner = build_runner(cfg)
    runner.train()
    # batch 4 x 1 process x 2 accumulation
    lr = runner.optim_wrapper.optimizer.param_groups[0]['initial_lr']
    assert lr == pytest.approx(1.5e-3 * 8 / 256)

    cfg = _runner(tmp_path, demo_root, 2, work='single', **scaled)
    cfg.strategy = dict(type='SingleDeviceStrategy')
    with pytest.raises(ValueError, match='SingleDeviceStrategy scales the lr without gradient'):
        build_runner(cfg)


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


def test_activation_checkpointing_recomputes_each_block_and_keeps_the_loss(tmp_path, demo_root):
    results = []
    for recompute in (False, True):
        cfg = _runner(tmp_path, demo_root, 1, work=f'ac_{recompute}')
        cfg.strategy.activation_checkpointing = recompute
        runner = build_runner(cfg)
        runner.train()  # builds and shards the model, one step
        model, calls = runner.model, []
        for block in [*model.mae.encoder.vit.blocks, *model.mae.decoder.blocks]:
            block.mlp.fc1.register_forward_hook(lambda *_, seen=calls: seen.append(1))
        torch.manual_seed(0)
        batch = next(iter(runner.train_dataloader))
        loss = model.train_step(batch, runner.optim_wrapper)['loss']
        results.append((len(calls), loss))
    # 3 blocks: forward once; with recomputation once more in backward (seen inside the block)
    assert [n for n, _ in results] == [3, 6]
    torch.testing.assert_close(results[1][1], results[0][1], rtol=0, atol=0)


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
