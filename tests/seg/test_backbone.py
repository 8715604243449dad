"""The mmseg backbone (``mae_plugin.seg.backbone``): a checkpoint of another architecture is
refused, official and timm weights load resampled; in a user's own mmseg config the lines of
docs/segmentation.md on mmseg's MAE config name both checkpoints, and a model-level
``pretrained`` loads through the strict loader."""

import pytest
import torch

from tests.helpers.models import tiny_mae
from tests.helpers.seg import INIT_CFG, runner_log, user_cfg


def test_backbone_checkpoint_of_another_architecture_is_refused(pretrained_64):
    import mae_plugin.seg  # noqa: F401
    from mae_plugin.seg.backbone import MAESegViT

    path, _ = pretrained_64  # 48 dims, 2 blocks, 3 heads, 64 px, patch 8
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


def test_readme_lines_on_mmseg_mae_config_name_both_checkpoints(tmp_path, seg_root, pretrained_64):
    """The backbone lines of docs/segmentation.md without their ``pretrained=None``, on mmseg's
    MAE config: that config's model-level ``pretrained`` reaches the backbone beside
    ``init_cfg``; the error names both."""
    from mmengine.runner import Runner

    path, _ = pretrained_64
    cfg = user_cfg(tmp_path, seg_root, backbone_extra=INIT_CFG.format(checkpoint=path))
    with pytest.raises(
        ValueError,
        match=r"MAESegViT: pretrained='\./pretrain/mae_pretrain_vit_base_mmcls\.pth' and "
        r'init_cfg=.*iter_1\.pth.*are both set.*model=dict\(pretrained=None',
    ):
        Runner.from_cfg(cfg)


def test_model_level_pretrained_loads_through_the_strict_loader(tmp_path, seg_root, pretrained_64):
    """mmseg's older spelling, ``model.pretrained=PATH`` without ``init_cfg``: the same loader."""
    from mmengine.runner import Runner

    path, mae = pretrained_64
    cfg = user_cfg(tmp_path, seg_root, model_extra=f"\n    pretrained='{path}',")
    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    runner.model.init_weights()
    torch.testing.assert_close(
        backbone.encoder.vit.blocks[1].mlp.fc2.weight, mae.encoder.vit.blocks[1].mlp.fc2.weight
    )
    assert 'MAESegViT: loaded 28 tensors' in runner_log(runner)

    cfg = user_cfg(tmp_path, seg_root, model_extra=f"\n    pretrained='{path}',")
    cfg.model.backbone.arch.embed_dim = 96  # not the checkpoint's width
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        runner.model.init_weights()
