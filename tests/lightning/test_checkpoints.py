"""Lightning .ckpt files: code-free, atomic, finite; converted to timm / plugin / official and
read by init_model; a misfit or a non-finite weight is an error naming it."""

import os

import pytest
import pytorch_lightning as pl
import torch

from mae_plugin.checkpoints import UnsafeCheckpointError, detect_format, load_checkpoint_file
from mae_plugin.lightning import MAECheckpointIO, MAEFSDP2Strategy, MAEFSDPStrategy
from tests.helpers.lightning_runs import checkpoint_every, tiny_cli
from tests.helpers.mmengine_runs import TINY_ARCH
from tests.helpers.models import tiny_timm_vit
from tests.helpers.paths import ROOT

CONVERT = os.path.join(ROOT, 'tools', 'convert_checkpoint.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_root):
    """(cli, path of last.ckpt) of a 10-step tiny run."""
    root = tmp_path_factory.mktemp('fit')
    cli = tiny_cli(root, demo_root)
    cli.trainer.fit(cli.model, cli.datamodule)
    return cli, os.path.join(root, 'checkpoints', 'last.ckpt')


def test_ckpt_is_weights_only_readable_and_detected(trained):
    _, path = trained
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    ckpt = load_checkpoint_file(path)
    assert ckpt['global_step'] == 10 and detect_format(ckpt) == 'lightning'
    assert ckpt['mae_schedule']['total_steps'] == 10


def test_ckpt_converts_to_timm_and_loads_strictly_into_timm_create_model(trained, tmp_path):
    from tools.convert_checkpoint import main as convert

    cli, path = trained
    out = tmp_path / 'vit.pth'
    convert([path, str(out), '--to', 'timm'])
    vit = tiny_timm_vit()
    vit.load_state_dict(torch.load(out, weights_only=True), strict=True)
    images = torch.randn(2, 3, 64, 64)
    mae = cli.model.mae.eval()
    with torch.no_grad():
        torch.testing.assert_close(vit.eval().forward_features(images), mae.encoder(images))


@pytest.mark.parametrize('fmt', ['plugin', 'official', 'lightly', 'hf'])
def test_ckpt_converts_for_mmengine_and_init_model_reads_it_as_is(trained, tmp_path, fmt):
    """Every writable format (hf: a folder whose head counts come from the .ckpt's
    hyper-parameters), read back by init_model; and the .ckpt itself."""
    from mae_plugin.apis import init_model
    from tools.convert_checkpoint import main as convert

    cli, path = trained
    out = tmp_path / (fmt if fmt == 'hf' else f'{fmt}.pth')
    convert([path, str(out), '--to', fmt])
    options = dict(TINY_ARCH)
    config = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
    expected = cli.model.mae.state_dict()
    for source, name in ((out, fmt), (path, 'lightning')):
        model = init_model(config, source, cfg_options=options)
        assert model.load_report.format == name and not model.load_report.left_new
        for key, value in model.mae.state_dict().items():
            assert torch.equal(value, expected[key]), (source, key)


def test_encoder_consumers_load_the_ckpt(trained):
    """The one encoder loader (classification, ViTDet and segmentation init_cfg) reads it."""
    from mae_plugin.checkpoints import load_encoder_weights

    cli, path = trained
    vit = tiny_timm_vit()
    report = load_encoder_weights(vit, path, (8, 8))
    assert report.format == 'lightning' and len(report.loaded) == len(vit.state_dict())
    for key, value in vit.state_dict().items():
        assert torch.equal(value, cli.model.mae.encoder.vit.state_dict()[key]), key


def test_resuming_a_ckpt_of_another_model_size_is_an_error_naming_it(trained, tmp_path, demo_root):
    _, path = trained
    cli = tiny_cli(tmp_path, demo_root, '--model.embed_dim', '96')
    with pytest.raises(
        ValueError,
        match=rf"checkpoint '{path}' does not fit this MAE "
        r"\(another model size\? .*'embed_dim': 48",
    ):
        cli.trainer.fit(cli.model, cli.datamodule, ckpt_path=path)


class Touch:
    """A pickle that creates a file when loaded (it must never be)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


def test_checkpoint_io_reads_weights_only_and_runs_nothing(tmp_path):
    io = MAECheckpointIO()
    evil, marker = tmp_path / 'evil.ckpt', tmp_path / 'ran'
    torch.save({'state_dict': {}, 'x': Touch(str(marker))}, evil)
    with pytest.raises(UnsafeCheckpointError, match='evil.ckpt'):
        io.load_checkpoint(evil)
    for strategy in (MAEFSDPStrategy(), MAEFSDP2Strategy()):
        with pytest.raises(UnsafeCheckpointError, match='evil.ckpt'):
            strategy.load_checkpoint(evil)
    assert not marker.exists()
    good = tmp_path / 'good.ckpt'
    io.save_checkpoint({'state_dict': {'w': torch.ones(2)}}, good)
    assert torch.equal(io.load_checkpoint(good)['state_dict']['w'], torch.ones(2))
    with pytest.raises(ValueError, match='weights_only=True only'):
        io.load_checkpoint(good, weights_only=False)


def test_checkpoint_io_refuses_nan_and_a_write_killed_midway_keeps_the_old_file(tmp_path):
    io = MAECheckpointIO()
    path = tmp_path / 'last.ckpt'
    io.save_checkpoint({'state_dict': {'w': torch.ones(2)}, 'step': 1}, path)
    with pytest.raises(FloatingPointError, match=r"last.ckpt' not written: weight 'w'"):
        io.save_checkpoint({'state_dict': {'w': torch.tensor([1.0, float('nan')])}}, path)

    class Boom:
        def __reduce__(self):
            raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        io.save_checkpoint({'state_dict': {'w': torch.zeros(2)}, 'x': Boom()}, path)
    assert io.load_checkpoint(path)['step'] == 1
    assert sorted(os.listdir(tmp_path)) == ['last.ckpt']  # the partial file is gone


class PoisonAt(pl.Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            with torch.no_grad():
                pl_module.mae.decoder.pred.bias[0] = float('nan')


def test_nan_at_save_time_stops_and_keeps_the_previous_checkpoint(tmp_path, demo_root):
    cli = tiny_cli(tmp_path, demo_root, callbacks=[checkpoint_every(2)])
    cli.trainer.callbacks.insert(0, PoisonAt(4))
    with pytest.raises(FloatingPointError, match=r"step 4: weight 'mae.decoder.pred.bias'"):
        cli.trainer.fit(cli.model, cli.datamodule)
    last = load_checkpoint_file(tmp_path / 'checkpoints' / 'last.ckpt')
    assert last['global_step'] == 2
    assert all(torch.isfinite(v).all() for v in last['state_dict'].values())


def test_non_finite_steps_in_a_row_stop_naming_the_steps(tmp_path, demo_root):
    # each step after the first is non-finite: skipped (tests/lightning/test_nonfinite.py),
    # and the 5th in a row stops the run at the next check (here the next checkpoint)
    cli = tiny_cli(
        tmp_path,
        demo_root,
        '--model.base_lr',
        '1e32',
        '--model.warmup_epochs',
        '0',
        callbacks=[checkpoint_every(1)],
    )
    with pytest.raises(
        FloatingPointError,
        match=r'non-finite loss or gradients at 5 optimizer steps in a row '
        r'\(optimizer steps 2 to 6\); max_consecutive_skips=5 was reached at optimizer step 6',
    ):
        cli.trainer.fit(cli.model, cli.datamodule)
    stepped = cli.trainer.global_step
    assert 1 <= stepped < 10
    for name in os.listdir(tmp_path / 'checkpoints'):
        state = load_checkpoint_file(tmp_path / 'checkpoints' / name)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name


def test_fsdp_strategy_wraps_transformer_blocks_and_writes_whole_checkpoints():
    from timm.models.vision_transformer import Block

    strategy = MAEFSDPStrategy(activation_checkpointing=True)
    policy = strategy.kwargs['auto_wrap_policy']  # torch's ModuleWrapPolicy of the set
    assert policy._module_classes == {Block}
    assert strategy._activation_checkpointing_kwargs  # recompute each block in backward
    assert strategy._state_dict_type == 'full'
    with pytest.raises(ValueError, match="state_dict_type='full'"):
        MAEFSDPStrategy(state_dict_type='sharded')
    from pytorch_lightning.strategies import StrategyRegistry

    assert StrategyRegistry['mae_fsdp']['strategy'] is MAEFSDPStrategy
    assert StrategyRegistry['mae_fsdp2']['strategy'] is MAEFSDP2Strategy
    assert StrategyRegistry['mae_fsdp2_activation_checkpointing']['init_params'] == {
        'activation_checkpointing': True
    }
    with pytest.raises(ValueError, match='sets data_parallel_size itself'):
        MAEFSDP2Strategy(data_parallel_size=2)
