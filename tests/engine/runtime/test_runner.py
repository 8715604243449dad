"""MAERunner: continued pretraining from released weights of every format (and weights that
do not fit named), the optimizer stepped once per accumulation count, ``None`` turning off a
plugin hook as it does a stock one."""

import pytest
import torch

from mae_plugin.checkpoints import from_core
from tests.helpers.mmengine_runs import tiny_runner
from tests.helpers.releases import released

FORMATS = ['plugin', 'official', 'official-encoder', 'timm', 'lightly', 'hf', 'timm-safetensors']


def assert_encoder_equal(model, mae, skip=('pos_embed',)):
    source = mae.encoder.state_dict()
    loaded = model.mae.encoder.state_dict()
    assert set(source) == set(loaded)
    for key, value in source.items():
        if key.split('.')[-1] not in skip:
            assert torch.equal(loaded[key], value), key


def lr_of(checkpoint):
    groups = torch.load(checkpoint, weights_only=True)['optimizer']['param_groups']
    return max(group['initial_lr'] for group in groups)


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


def test_none_turns_off_a_plugin_hook_as_it_does_a_stock_one(tmp_path, demo_root):
    # the stock Runner asserts on `default_hooks.knn=None`; the plugin's hooks turn off like its six
    off = {'default_hooks.knn': None, 'default_hooks.visualization': None}
    runner = tiny_runner(tmp_path, demo_root, **off, **{'default_hooks.timer': None})
    kinds = {type(hook).__name__ for hook in runner.hooks}
    assert not kinds & {'KNNMonitorHook', 'ReconstructionVisHook', 'IterTimerHook'}
    assert 'AtomicCheckpointHook' in kinds
    kinds = {type(hook).__name__ for hook in tiny_runner(tmp_path, demo_root).hooks}
    assert {'KNNMonitorHook', 'ReconstructionVisHook', 'IterTimerHook'} <= kinds
