"""configs/lightning/*.yaml: each builds the MAE, data pipeline, optimizer and schedule of its
MMEngine twin in configs/; a key that does not exist is an error that names it."""

import glob
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401  (registers the MMEngine components)
from mae_plugin.data.folder import scan_image_folder
from mae_plugin.engine.registry import MODELS, TRANSFORMS
from tests.helpers.lightning_runs import LIGHTNING, build_cli
from tests.helpers.paths import ROOT

PAIRS = [f'mae_vit-{a}_{e}e' for a in 'blh' for e in (400, 800, 1600)] + ['mae_vit-t_demo']


def test_every_yaml_has_its_mmengine_twin_and_a_folder_of_its_own():
    yamls = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(LIGHTNING, '*.yaml')))
    assert yamls == sorted(PAIRS)
    folders = {}  # --ckpt_path last looks in <folder>/checkpoints: one folder per run config
    for name in PAIRS:
        text = open(os.path.join(LIGHTNING, name + '.yaml')).read()
        folders[name] = [
            line.split(':', 1)[1].strip()
            for line in text.splitlines()
            if line.startswith('trainer.default_root_dir:')
        ]
    assert all(folders[n] == [f'work_dirs/lightning/{n}'] for n in PAIRS), folders


@pytest.mark.parametrize('name', PAIRS)
def test_yaml_builds_the_recipe_of_the_mmengine_config(name, demo_root):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name + '.py'))
    with torch.device('meta'):  # shapes only: ViT-H without 2.5 GB of weights
        with DefaultScope.overwrite_default_scope('mae_plugin'):
            mm = MODELS.build(cfg.model)
        cli = build_cli(
            ['--config', os.path.join(LIGHTNING, name + '.yaml'), '--data.data_root', demo_root]
        )
    lit, data, trainer = cli.model, cli.datamodule, cli.trainer
    shapes = {k: tuple(v.shape) for k, v in mm.mae.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in lit.mae.state_dict().items()} == shapes
    assert (lit.mae.mask_ratio, lit.mae.loss.norm_pix) == (mm.mae.mask_ratio, mm.mae.loss.norm_pix)
    # the same transform classes with the same settings, in the same order
    loader = cfg.train_dataloader
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        pipeline = [TRANSFORMS.build(t) for t in loader.dataset.pipeline]
    assert [type(t) for t in data.transforms] == [type(t) for t in pipeline]
    assert [vars(t) for t in data.transforms] == [vars(t) for t in pipeline]
    assert (
        data.batch_size == loader.batch_size
        and data.split == loader.dataset.data_prefix['img_path']
    )
    # optimizer: AdamW, betas, weight decay, lr per image of the effective batch
    optim = cfg.optim_wrapper.optimizer
    assert optim.type == 'AdamW' and tuple(lit.hparams.betas) == tuple(optim.betas)
    assert lit.hparams.weight_decay == optim.weight_decay
    assert lit.hparams.fused == optim.get('fused', False)
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and cosine.type == 'CosineAnnealingLR'
    assert cosine.eta_min == 0.0
    if cfg.auto_scale_lr.enable:  # lr written at base_batch_size, scaled by the runner
        assert lit.hparams.base_lr / 256 == pytest.approx(
            optim.lr / cfg.auto_scale_lr.base_batch_size
        )
        assert warmup.by_epoch and (warmup.end, cosine.end) == (
            lit.hparams.warmup_epochs,
            trainer.max_epochs,
        )
        assert cfg.train_cfg.max_epochs == trainer.max_epochs
    else:  # the demo: an unscaled lr and iteration counts, on the 20 demo photographs
        assert lit.hparams.base_lr * data.batch_size / 256 == pytest.approx(optim.lr)
        images = len(scan_image_folder(os.path.join(demo_root, 'train'))[0])
        per_epoch = images * data.repeat // data.batch_size
        assert (warmup.end, cosine.end) == (
            lit.hparams.warmup_epochs * per_epoch,
            trainer.max_epochs * per_epoch,
        )
        assert cfg.train_cfg.max_iters == trainer.max_epochs * per_epoch


def test_a_key_that_does_not_exist_is_an_error_naming_it(tmp_path, capsys):
    config = tmp_path / 'mine.yaml'
    config.write_text(
        f'config: {os.path.join(LIGHTNING, "mae_vit-b_800e.yaml")}\nmodel.img_sise: 64\n'
    )
    with pytest.raises(SystemExit):
        build_cli(['--config', config])
    assert 'img_sise' in capsys.readouterr().err


def test_a_derived_yaml_changes_one_key_and_keeps_the_rest(tmp_path):
    config = tmp_path / 'mine.yaml'
    config.write_text(
        f'config: {os.path.join(LIGHTNING, "mae_vit-l_800e.yaml")}\n'
        'model.img_size: 32\ndata.data_root: /elsewhere\n'
    )
    with torch.device('meta'):
        cli = build_cli(['--config', config, '--model.patch_size', '16', '--model.depth', '1'])
    assert cli.model.hparams.arch == 'large' and cli.model.mae.encoder.grid_size == (2, 2)
    assert cli.model.hparams.decoder_depth == 8 and cli.trainer.max_epochs == 800
    assert (cli.datamodule.img_size, cli.datamodule.patch_size) == (32, 16)  # linked
    assert cli.datamodule.data_root == '/elsewhere' and cli.datamodule.batch_size == 512
