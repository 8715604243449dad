"""The mmdet backbone (``mae_plugin.det.backbone``): a checkpoint of another architecture is
refused, and in a user's own mmdet config ``pretrained`` is ``init_cfg`` Pretrained, both set is an
error naming both."""

import pytest
import torch

from tests.helpers.det import runner_log, user_cfg


def test_backbone_checkpoint_of_another_architecture_is_refused(pretrained_64):
    import mae_plugin.det  # noqa: F401
    from mae_plugin.det.backbone import MAEViTDet

    path, _ = pretrained_64  # 48 dims, 2 blocks, 3 heads, 64 px, patch 8
    model = MAEViTDet(
        arch=dict(patch_size=8, embed_dim=96, depth=2, num_heads=3),
        img_size=64,
        window_size=4,
        global_blocks=(1,),
        init_cfg=dict(type='Pretrained', checkpoint=path),
    )
    with pytest.raises(ValueError, match='another architecture.*shape mismatches'):
        model.init_weights()


def test_backbone_pretrained_is_init_cfg_and_both_are_named(tmp_path, coco_root, pretrained_64):
    """mmdet's older spelling, ``backbone=dict(pretrained=PATH)``: the same strict loader; with
    ``init_cfg`` as well, an error naming both."""
    from mmengine.runner import Runner

    path, mae = pretrained_64
    runner = Runner.from_cfg(user_cfg(tmp_path, coco_root, f"\n        pretrained='{path}',"))
    backbone = runner.model.backbone
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    runner.model.init_weights()
    torch.testing.assert_close(
        backbone.encoder.vit.blocks[1].mlp.fc2.weight, mae.encoder.vit.blocks[1].mlp.fc2.weight
    )
    assert 'MAEViTDet: loaded 27 tensors' in runner_log(runner)

    both = f"pretrained='{path}', init_cfg=dict(type='Pretrained', checkpoint='x.pth'),"
    with pytest.raises(
        ValueError, match=r"MAEViTDet: pretrained='.*iter_1\.pth' and init_cfg=.*x\.pth.*both set"
    ):
        Runner.from_cfg(user_cfg(tmp_path, coco_root, both))
