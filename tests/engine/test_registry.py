import os
import textwrap

import torch
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope, Registry

import mae_plugin  # noqa: F401
from mae_plugin.engine import registry


def test_components_resolve_from_another_scope_with_the_prefix():
    # another project's scope (as mmdet's or mmseg's: a child of MMEngine's root registry)
    other = Registry('model', parent=ROOT_MODELS, scope='another_project')
    with DefaultScope.overwrite_default_scope('another_project'):
        enc = other.build(
            dict(
                type='mae_plugin.MaskedViTEncoder',
                img_size=32,
                patch_size=8,
                embed_dim=32,
                depth=1,
                num_heads=2,
            )
        )
    assert enc.vit.embed_dim == 32
    for name in (
        'MAEPretrainModel',
        'MAEDataPreprocessor',
        'MaskedViTEncoder',
        'MAEPixelDecoder',
        'NormalizedPixelLoss',
    ):
        assert other.get(f'mae_plugin.{name}') is registry.MODELS.get(name)


def test_names_do_not_collide_with_mmpretrain_or_mmseg():
    taken = {'MAE', 'MAEViT', 'MAEPretrainDecoder', 'MAEPretrainHead', 'PixelReconstructionLoss'}
    ours = set()
    for reg in (registry.MODELS, registry.TRANSFORMS, registry.DATASETS, registry.HOOKS):
        ours |= set(reg.module_dict)
    assert not ours & taken
    assert registry.MODELS.scope == 'mae_plugin'


def test_custom_imports_from_another_project(tmp_path):
    cfg_file = tmp_path / 'other.py'
    cfg_file.write_text(
        textwrap.dedent("""
        custom_imports = dict(imports=['mae_plugin'], allow_failed_imports=False)
        model = dict(type='mae_plugin.NormalizedPixelLoss', norm_pix=False)
    """)
    )
    cfg = Config.fromfile(str(cfg_file))
    loss = ROOT_MODELS.build(cfg.model)
    pred = torch.zeros(1, 2, 3)
    assert float(loss(pred, torch.ones(1, 2, 3))) == 1.0
    assert os.path.basename(mae_plugin.__file__) == '__init__.py'
