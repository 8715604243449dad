"""Mask R-CNN on the MAE ViT end to end through mmdet: a tiny COCO set made from scikit-image's
coins (instances from a classical segmentation, real COCO JSON), a few iterations from a plugin
MAE checkpoint, bbox and segm AP through pycocotools, with AMP on CPU; and the backbone in a
user's own mmdet config, as docs/detection.md shows it (a config file in the user's folder on
mmdet's own Mask R-CNN config, ``mmdet::``, the page's ``custom_imports``, backbone and neck
lines, the demo coins and the tiny demo sizes, run by MMEngine's ``Runner``)."""

import os

import pytest
import torch

from tests.helpers import in_process
from tests.helpers.det import CONFIG, runner_log, user_cfg

pytest.importorskip(
    'mmdet', reason='mmdet (with mmcv 2.1.0) is not installed: run make install-transfer'
)


def options(data_root, checkpoint, iters=4):
    opts = {
        'model.backbone.arch.embed_dim': 48,
        'model.backbone.arch.depth': 2,
        'model.backbone.global_blocks': '"(1,)"',
        'model.backbone.init_cfg.checkpoint': checkpoint,
        'model.neck.in_channels': 48,
        'train_dataloader.dataset.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'val_evaluator.ann_file': data_root + 'annotations/instances_val.json',
        'test_evaluator.ann_file': data_root + 'annotations/instances_val.json',
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': 1,
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    return opts


def backbone_inputs(runner, batch):
    """Run one test step; the (H, W) the backbone saw."""
    seen = []
    handle = runner.model.backbone.register_forward_pre_hook(
        lambda _, args: seen.append(tuple(args[0].shape[-2:]))
    )
    runner.model.eval()
    with torch.no_grad():
        (result,) = runner.model.test_step(batch)
    handle.remove()
    return seen[0], result


@pytest.mark.slow
def test_mask_rcnn_trains_from_a_plugin_checkpoint_then_tests(tmp_path, coco_root, pretrained_64):
    path, mae = pretrained_64
    work = str(tmp_path / 'det')
    opts = options(coco_root, path)
    # tools/train.py's functions, in this process: docs/detection.md runs the config through
    # the command line (tests/docs)
    _, out = in_process.train(CONFIG, work, opts)
    # 2 blocks x 12 + patch embedding 2 + position table; cls token and final norm dropped
    assert 'MAEViTDet: loaded 27 tensors' in out and '(plugin format)' in out
    assert 'coco/bbox_mAP' in out and 'coco/segm_mAP' in out
    trained = os.path.join(work, 'iter_4.pth')
    # tools/test.py's functions, in this process
    metrics, _ = in_process.evaluate(CONFIG, trained, str(tmp_path / 'test'), opts)
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0.0 <= metrics[metric] <= 100.0
    state = torch.load(trained, weights_only=True)['state_dict']
    assert state['backbone.encoder.vit.pos_embed'].shape == (1, 16, 16, 48)


@pytest.mark.slow
def test_mask_rcnn_trains_with_amp_on_cpu(tmp_path, coco_root, pretrained_64):
    """``--amp`` on the CPU: the plugin's bf16 wrapper, found from the mmdet scope."""
    path, _ = pretrained_64
    work = str(tmp_path / 'det_amp')
    opts = options(coco_root, path, iters=2)
    runner, log = in_process.train(CONFIG, work, opts, '--amp')  # tools/train.py's functions
    assert "type='mae_plugin.CPUAmpOptimWrapper'" in log
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP' in log
    state = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)['state_dict']
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())


@pytest.mark.slow
def test_readme_backbone_trains_from_the_checkpoint_and_infers_off_the_patch_grid(
    tmp_path, coco_root, pretrained_64
):
    from mmengine.runner import Runner

    path, mae = pretrained_64
    init_cfg = f"\n        init_cfg=dict(type='Pretrained', checkpoint='{path}'),"
    runner = Runner.from_cfg(user_cfg(tmp_path, coco_root, init_cfg))
    runner.train()  # 2 iterations, then whole-image validation on a 79 x 100 image
    log = runner_log(runner)
    # 2 blocks x 12 + patch embedding 2 + position table; cls token and final norm dropped
    assert 'MAEViTDet: loaded 27 tensors' in log and '(plugin format)' in log
    assert 'Epoch(train) [1][2/2]' in log
    for metric in ('bbox_mAP', 'segm_mAP'):
        assert 0.0 <= runner.message_hub.get_scalar(f'val/coco/{metric}').current() <= 100.0
    vit = runner.model.backbone.encoder.vit
    assert not torch.equal(vit.blocks[0].attn.qkv.weight, mae.encoder.vit.blocks[0].attn.qkv.weight)

    batch = next(iter(runner.val_dataloader))
    assert tuple(batch['inputs'][0].shape[-2:]) == (79, 100)
    # mmdet's Mask R-CNN preprocessor pads to a multiple of 32 (pad_size_divisor=32) ...
    seen, _ = backbone_inputs(runner, batch)
    assert seen == (96, 128)
    # ... and without it the backbone pads to the patch grid itself
    runner.model.data_preprocessor.pad_size_divisor = 1
    seen, result = backbone_inputs(runner, batch)
    assert seen == (79, 100)
    assert tuple(result.pred_instances.masks.shape[-2:]) == tuple(result.ori_shape)
