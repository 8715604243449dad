"""MAERunner: continued pretraining from released weights, the lr rule with accumulation, and
resuming without running anything a checkpoint holds."""

import os

import pytest
import torch

from mae_plugin.checkpoints import from_core
from mae_plugin.checkpoints.convert import convert_checkpoint
from tests.helpers import in_process
from tests.helpers.mmengine_runs import TINY, demo_options, tiny_runner
from tests.helpers.models import demo_mae
from tests.helpers.paths import DEMO, ROOT

FORMATS = ['plugin', 'official', 'official-encoder', 'timm', 'lightly', 'hf', 'timm-safetensors']


def released(tmp_path, fmt, img_size=32):
    """(path, core MAE) of a tiny MAE written in ``fmt``, pretrained at ``img_size`` (the demo
    runs at 64 px: the position tables must be resampled)."""
    torch.manual_seed(1)
    mae = demo_mae(img_size)
    state = mae.state_dict()
    if fmt == 'official-encoder':
        state = {k: v for k, v in state.items() if k.startswith('encoder.')}
    if fmt in ('hf', 'timm-safetensors'):  # a Hugging Face folder; timm's hub file
        plugin = str(tmp_path / 'plugin_src.pth')
        torch.save(from_core(state, 'plugin'), plugin)
        path = str(tmp_path / ('hf' if fmt == 'hf' else 'model.safetensors'))
        options = dict(norm_pix=True, num_heads=3, decoder_num_heads=2) if fmt == 'hf' else {}
        convert_checkpoint(plugin, path, fmt.split('-')[0], **options)
        return path, mae
    path = str(tmp_path / f'{fmt}.pth')
    torch.save(from_core(state, fmt.split('-')[0]), path)
    return path, mae


def assert_encoder_equal(model, mae, skip=('pos_embed',)):
    source = mae.encoder.state_dict()
    loaded = model.mae.encoder.state_dict()
    assert set(source) == set(loaded)
    for key, value in source.items():
        if key.split('.')[-1] not in skip:
            assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('route', ['load_from', 'init_cfg'])
def test_continued_pretraining_loads_every_format(tmp_path, demo_root, fmt, route, caplog):
    path, mae = released(tmp_path, fmt)
    if route == 'load_from':
        runner = tiny_runner(tmp_path, demo_root, load_from=path)
        runner._init_model_weights()
        runner.load_or_resume()
    else:
        runner = tiny_runner(
            tmp_path, demo_root, **{'model.init_cfg': dict(type='Pretrained', checkpoint=path)}
        )
        runner._init_model_weights()
    model = runner.model
    assert_encoder_equal(model, mae)
    # position tables: 4 x 4 -> 8 x 8, through timm's resampling
    from timm.layers import resample_abs_pos_embed

    expected = resample_abs_pos_embed(
        mae.encoder.vit.pos_embed.detach(), [8, 8], [4, 4], num_prefix_tokens=1
    )
    torch.testing.assert_close(model.mae.encoder.vit.pos_embed.detach(), expected)
    decoder, source = model.mae.decoder.state_dict(), mae.decoder.state_dict()
    for key in ('blocks.0.attn.qkv.weight', 'pred.weight', 'mask_token'):
        # an encoder-only file (timm, official encoder) leaves the decoder freshly initialised
        fresh = fmt in ('official-encoder', 'timm', 'timm-safetensors')
        assert torch.equal(decoder[key], source[key]) is not fresh, key


@pytest.mark.parametrize('route', ['load_from', 'init_cfg'])
def test_weights_that_do_not_fit_are_an_error_naming_the_file(tmp_path, demo_root, route):
    torch.manual_seed(0)
    from mae_plugin.models import build_mae

    wider = build_mae(
        'tiny',
        img_size=64,
        patch_size=8,
        embed_dim=64,
        depth=2,
        num_heads=4,
        decoder=dict(embed_dim=32, depth=1, num_heads=2),
    )
    path = str(tmp_path / 'wider.pth')
    torch.save(from_core(wider.state_dict(), 'official'), path)
    options = (
        {'load_from': path}
        if route == 'load_from'
        else {'model.init_cfg': dict(type='Pretrained', checkpoint=path)}
    )
    runner = tiny_runner(tmp_path, demo_root, **options)
    with pytest.raises(ValueError, match=r'wider\.pth.*shape mismatches.*encoder\.vit\.blocks'):
        runner._init_model_weights()
        runner.load_or_resume()


@pytest.mark.slow
def test_cli_continues_pretraining_from_an_official_release(tmp_path, demo_root):
    """The issue's command: released weights through --cfg-options on the B recipe's runner."""
    path, mae = released(tmp_path, 'official')
    work = str(tmp_path / 'cont')
    options = demo_options(
        demo_root,
        2,
        2,
        **TINY,
        **{'model.init_cfg.type': 'Pretrained', 'model.init_cfg.checkpoint': path},
    )
    _, out = in_process.train(DEMO, work, options)  # tools/train.py's parser and functions
    assert 'MAEPretrainModel: loaded' in out and '(official format)' in out
    assert 'resampled encoder.vit.pos_embed: grid 4x4 -> 8x8' in out
    assert 'missing keys' not in out.lower()


def lr_of(checkpoint):
    groups = torch.load(checkpoint, weights_only=True)['optimizer']['param_groups']
    return max(group['initial_lr'] for group in groups)


@pytest.mark.slow
def test_vit_b_recipe_lr_counts_gradient_accumulation(tmp_path, demo_root):
    """Batch 2, 1 process, accumulation 4: lr = 1.5e-4 x 8 / 256 (MMEngine alone: x 2 / 256)."""
    config = os.path.join(ROOT, 'configs', 'mae_vit-b_800e.py')
    work = str(tmp_path / 'b')
    options = {
        'train_dataloader.dataset.data_root': demo_root,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.pin_memory': False,
        'optim_wrapper.accumulative_counts': 4,
        'train_cfg.max_epochs': 1,
        'default_hooks.visualization.interval': 1000,
        'model.encoder.embed_dim': 32,
        'model.encoder.depth': 1,
        'model.encoder.num_heads': 2,
        'model.decoder.embed_dim': 32,
        'model.decoder.depth': 1,
        'model.decoder.num_heads': 2,
    }
    _, log = in_process.train(config, work, options)  # tools/train.py's functions
    assert lr_of(os.path.join(work, 'epoch_1.pth')) == pytest.approx(1.5e-4 * 8 / 256)
    assert '(batch 2 x 1 processes x 4 accumulation) / 4096 = 8 / 4096' in log


def test_accumulation_steps_the_optimizer_once_per_count(tmp_path, demo_root):
    runner = tiny_runner(
        tmp_path,
        demo_root,
        **{
            'optim_wrapper.accumulative_counts': 2,
            'train_cfg.max_iters': 4,
            'auto_scale_lr': dict(enable=True, base_batch_size=256),
        },
    )
    weight = runner.model.mae.encoder.vit.blocks[0].attn.qkv.weight
    seen = []

    from mmengine.hooks import Hook

    class Record(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen.append(weight.detach().clone())

    runner.register_hook(Record())
    start = weight.detach().clone()
    runner.train()
    assert torch.equal(seen[0], start)  # iteration 1: gradients accumulated, no step
    assert not torch.equal(seen[1], start)  # iteration 2: one step
    assert torch.equal(seen[2], seen[1]) and not torch.equal(seen[3], seen[2])
    base = runner.cfg.optim_wrapper.optimizer.lr
    assert runner.optim_wrapper.param_groups[0]['initial_lr'] == pytest.approx(base * 4 * 2 / 256)


@pytest.mark.slow
def test_resume_never_runs_text_from_the_checkpoint(tmp_path, demo_root):
    work = str(tmp_path / 'run')
    # tools/train.py's functions in this process, without the monitors (not read here)
    off = {'default_hooks.knn': None, 'default_hooks.visualization': None}
    options = demo_options(demo_root, 2, 2, **TINY, **off)
    in_process.train(DEMO, work, options)
    marker = tmp_path / 'code_ran'
    payload = f"__import__('os').system('touch {marker}')\n"
    checkpoint = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)
    checkpoint['meta']['cfg'] = payload + checkpoint['meta']['cfg']
    checkpoint['meta']['config'] = payload  # the key MMEngine's own resume parses
    crafted = str(tmp_path / 'crafted.pth')
    torch.save(checkpoint, crafted)
    _, log = in_process.train(DEMO, work, options, '--resume', crafted)
    assert not marker.exists()
    assert 'resumed epoch: 0, iter: 2' in log
    assert "meta['config'] text ignored (never executed)" in log


def test_resume_of_another_schedule_is_refused_from_plain_data(tmp_path, demo_root):
    runner = tiny_runner(tmp_path, demo_root, **{'default_hooks.checkpoint.interval': 1})
    runner.train()
    checkpoint = torch.load(str(tmp_path / 'run' / 'iter_1.pth'), weights_only=True)
    assert checkpoint['meta']['schedule']['train_cfg']['max_iters'] == 1
    longer = tiny_runner(tmp_path, demo_root, **{'train_cfg.max_iters': 5, 'resume': True})
    with pytest.raises(ValueError, match=r'another schedule.*train_cfg'):
        longer.train()


def test_none_turns_off_a_plugin_hook_as_it_does_a_stock_one(tmp_path, demo_root):
    # the stock Runner asserts on `default_hooks.knn=None`; the plugin's hooks turn off like its six
    off = {'default_hooks.knn': None, 'default_hooks.visualization': None}
    runner = tiny_runner(tmp_path, demo_root, **off, **{'default_hooks.timer': None})
    kinds = {type(hook).__name__ for hook in runner.hooks}
    assert not kinds & {'KNNMonitorHook', 'ReconstructionVisHook', 'IterTimerHook'}
    assert 'AtomicCheckpointHook' in kinds
    kinds = {type(hook).__name__ for hook in tiny_runner(tmp_path, demo_root).hooks}
    assert {'KNNMonitorHook', 'ReconstructionVisHook', 'IterTimerHook'} <= kinds
