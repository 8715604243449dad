"""UperNet on the MAE ViT end to end through mmseg: a tiny ADE20K-layout set made from real
photographs (multi-Otsu label maps), a few iterations from a plugin MAE checkpoint, mIoU through
mmseg's IoUMetric; and the errors that name a bad dataset or checkpoint."""

import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import in_process
from tests.helpers.models import tiny_mae
from tests.helpers.paths import ROOT
from tools.demo_data import prepare_seg_split

CONFIG = os.path.join(ROOT, 'configs', 'seg', 'upernet_vit-t-mae_demo.py')


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ade'))
    prepare_seg_split(root, short_side=64)
    return os.path.join(root, 'seg')


@pytest.fixture
def pretrained(pretrained_64):
    return pretrained_64  # 48 dims, 2 blocks, 3 heads, 64 px, patch 8


def options(data_root, checkpoint, iters=4):
    opts = {
        'model.backbone.arch.embed_dim': 48,
        'model.backbone.arch.depth': 2,
        'model.backbone.out_indices': '"(0,1,1,1)"',
        'model.backbone.init_cfg.checkpoint': checkpoint,
        'model.neck.embed_dim': 48,
        'model.decode_head.in_channels': '"[48,48,48,48]"',
        'model.auxiliary_head.in_channels': 48,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update(
            {
                f'{loader}.dataset.data_root': data_root,
                f'{loader}.num_workers': 0,
                f'{loader}.persistent_workers': False,
            }
        )
    return opts


@pytest.mark.slow
def test_upernet_trains_from_a_plugin_checkpoint_then_tests(tmp_path, seg_root, pretrained):
    path, mae = pretrained
    work = str(tmp_path / 'seg')
    opts = options(seg_root, path)
    # tools/train.py's functions, in this process: docs/segmentation.md runs the config through
    # the command line (tests/docs)
    _, out = in_process.train(CONFIG, work, opts)
    assert 'MAESegViT: loaded 28 tensors' in out and '(plugin format)' in out
    assert 'mIoU' in out
    trained = os.path.join(work, 'iter_4.pth')
    # tools/test.py's functions, in this process
    metrics, _ = in_process.evaluate(CONFIG, trained, str(tmp_path / 'test'), opts)
    assert 0.0 <= metrics['mIoU'] <= 100.0
    state = torch.load(trained, weights_only=True)['state_dict']
    assert not torch.equal(
        state['backbone.encoder.vit.blocks.0.attn.qkv.weight'],
        mae.encoder.vit.blocks[0].attn.qkv.weight,
    )
    assert 'backbone.encoder.vit.blocks.1.rel_pos_bias.relative_position_bias_table' in state


def build_dataset(data_root, split='training'):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader if split == 'training' else cfg.val_dataloader
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(dict(loader.dataset, data_root=data_root))


def test_missing_split_folder_is_named(tmp_path, seg_root):
    root = str(tmp_path / 'ade')
    shutil.copytree(seg_root, root)
    shutil.rmtree(os.path.join(root, 'annotations', 'validation'))
    build_dataset(root, 'training')  # the other split still loads
    with pytest.raises(FileNotFoundError, match='annotations/validation.*does not exist'):
        build_dataset(root, 'validation')


def test_label_map_of_another_size_is_named(tmp_path, seg_root):
    root = str(tmp_path / 'ade')
    shutil.copytree(seg_root, root)
    label = os.path.join(root, 'annotations', 'training', 'astronaut.png')
    Image.fromarray(np.ones((10, 12), dtype=np.uint8)).save(label)
    dataset = build_dataset(root)
    index = next(
        i for i in range(len(dataset)) if dataset.get_data_info(i)['seg_map_path'] == label
    )
    with pytest.raises(ValueError, match=r'astronaut.png.* is \(10, 12\).*astronaut.jpg'):
        dataset[index]


def test_backbone_checkpoint_of_another_architecture_is_refused(pretrained):
    import mae_plugin.seg  # noqa: F401
    from mae_plugin.seg.backbone import MAESegViT

    path, _ = pretrained  # 48-dim encoder
    model = MAESegViT(
        arch=dict(patch_size=8, embed_dim=96, depth=2, num_heads=3),
        img_size=64,
        out_indices=(0, 1),
        init_cfg=dict(type='Pretrained', checkpoint=path),
    )
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        model.init_weights()


@pytest.mark.parametrize('fmt', ['official', 'timm'])
def test_backbone_loads_official_and_timm_weights_resampled(tmp_path, fmt):
    import mae_plugin.seg  # noqa: F401
    from mae_plugin.checkpoints import from_core
    from mae_plugin.seg.backbone import MAESegViT

    mae = tiny_mae(img_size=32, patch_size=8)  # a 4 x 4 grid
    path = str(tmp_path / f'{fmt}.pth')
    torch.save(from_core(mae.state_dict(), fmt), path)
    model = MAESegViT(
        arch=dict(patch_size=8, embed_dim=48, depth=2, num_heads=3),
        img_size=64,
        out_indices=(0, 1),
        init_cfg=dict(type='Pretrained', checkpoint=path),
    )
    model.init_weights()
    vit = model.encoder.vit
    torch.testing.assert_close(
        vit.blocks[1].mlp.fc2.weight, mae.encoder.vit.blocks[1].mlp.fc2.weight
    )
    assert vit.pos_embed.shape == (1, 1 + 8 * 8, 48)  # resampled to the 8 x 8 grid


@pytest.mark.slow
def test_upernet_trains_with_amp_on_cpu(tmp_path, seg_root, pretrained):
    """``--amp`` on the CPU: the plugin's bf16 wrapper, found from the mmseg scope."""
    path, _ = pretrained
    work = str(tmp_path / 'seg_amp')
    # tools/train.py's functions, in this process
    runner, log = in_process.train(CONFIG, work, options(seg_root, path, iters=2), '--amp')
    assert "type='mae_plugin.CPUAmpOptimWrapper'" in log
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    assert 'Iter(train) [2/2]' in log and 'mIoU' in log
    state = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)['state_dict']
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
