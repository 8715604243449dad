"""UperNet on the MAE ViT end to end through mmseg: a tiny ADE20K-layout set made from real
photographs (multi-Otsu label maps), a few iterations from a plugin MAE checkpoint, mIoU through
mmseg's IoUMetric, with AMP on CPU; and the backbone in a user's own mmseg config, as
docs/segmentation.md shows it (a config file in the user's folder on mmsegmentation's own MAE
config, ``mmseg::``, the page's ``custom_imports`` and backbone lines, the demo set and the tiny
demo sizes, run by MMEngine's ``Runner`` itself)."""

import os

import pytest
import torch

from tests.helpers import in_process
from tests.helpers.seg import CONFIG, INIT_CFG, runner_log, user_cfg

pytest.importorskip(
    'mmseg', reason='mmseg (with mmcv 2.1.0) is not installed: run make install-transfer'
)


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
def test_upernet_trains_from_a_plugin_checkpoint_then_tests(tmp_path, seg_root, pretrained_64):
    path, mae = pretrained_64
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


@pytest.mark.slow
def test_upernet_trains_with_amp_on_cpu(tmp_path, seg_root, pretrained_64):
    """``--amp`` on the CPU: the plugin's bf16 wrapper, found from the mmseg scope."""
    path, _ = pretrained_64
    work = str(tmp_path / 'seg_amp')
    # tools/train.py's functions, in this process
    runner, log = in_process.train(CONFIG, work, options(seg_root, path, iters=2), '--amp')
    assert "type='mae_plugin.CPUAmpOptimWrapper'" in log
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    assert 'Iter(train) [2/2]' in log and 'mIoU' in log
    state = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=True)['state_dict']
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())


@pytest.mark.slow
def test_readme_backbone_trains_from_the_checkpoint_and_infers_off_the_patch_grid(
    tmp_path, seg_root, pretrained_64
):
    from mmengine.runner import Runner

    path, mae = pretrained_64
    cfg = user_cfg(
        tmp_path,
        seg_root,
        model_extra='\n    pretrained=None,',
        backbone_extra=INIT_CFG.format(checkpoint=path),
    )
    runner = Runner.from_cfg(cfg)
    runner.train()  # 2 iterations, then whole-image validation on 61 x 81 images
    log = runner_log(runner)
    assert 'MAESegViT: loaded 28 tensors' in log and '(plugin format)' in log
    assert 'Iter(train) [2/2]' in log
    assert 0.0 <= runner.message_hub.get_scalar('val/mIoU').current() <= 100.0
    vit = runner.model.backbone.encoder.vit
    assert not torch.equal(vit.blocks[0].attn.qkv.weight, mae.encoder.vit.blocks[0].attn.qkv.weight)
    # layer decay: block 0 trains at 0.65 x block 1's lr
    lr_of = {
        id(p): g['lr'] for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']
    }
    block0, block1 = (lr_of[id(vit.blocks[i].attn.qkv.weight)] for i in (0, 1))
    assert block0 == pytest.approx(0.65 * block1)

    batch = next(iter(runner.val_dataloader))
    height, width = batch['inputs'][0].shape[-2:]
    assert (height % 8, width % 8) != (0, 0)  # the input is off the patch grid
    runner.model.eval()
    with torch.no_grad():
        (result,) = runner.model.test_step(batch)
    # the head's map of the padded grid is resized to the input, then to the original image
    assert tuple(result.img_shape) == (height, width)
    assert tuple(result.pred_sem_seg.shape[-2:]) == tuple(result.ori_shape)
