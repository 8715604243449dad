"""Detection: each format asked in a fixed order; what fits none, or not the one asked for, is
an error naming the keys or the format it looks like."""

import pytest
import torch

from mae_plugin.checkpoints import FORMATS, detect_format, to_core

PATCH = torch.zeros(8, 3, 4, 4)


def test_the_lightning_ckpt_is_told_from_the_plugin_checkpoint_sharing_its_prefix():
    weights = {'mae.encoder.vit.patch_embed.proj.weight': PATCH}
    assert detect_format({'meta': {}, 'state_dict': weights}) == 'plugin'
    lightning = {'pytorch-lightning_version': '2.5.0', 'state_dict': weights}
    assert detect_format(lightning) == 'lightning'
    assert list(FORMATS).index('lightning') < list(FORMATS).index('plugin')


def test_an_unknown_layout_is_an_error_listing_the_formats_and_the_keys():
    with pytest.raises(
        ValueError, match=r"unknown checkpoint layout .*top-level keys are \['a', 'b'\]"
    ):
        detect_format({'b': 1, 'a': 2})


def test_a_format_asked_for_must_fit_and_exist():
    timm_state = {'patch_embed.proj.weight': PATCH}
    with pytest.raises(ValueError, match=r"not in the 'official' layout \(it looks like 'timm'\)"):
        to_core(timm_state, 'official')
    with pytest.raises(ValueError, match="unknown format 'caffe'; choose one of"):
        to_core(timm_state, 'caffe')
    assert to_core(timm_state, 'timm').format == to_core(timm_state, '').format == 'timm'
