"""Lightning .ckpt files: code-free (weights-only readable) and detected; converted to timm /
plugin / official / lightly / hf and read by init_model and the encoder consumers."""

import os

import pytest
import torch

from mae_plugin.checkpoints import detect_format, load_checkpoint_file
from tests.helpers.mmengine_runs import TINY_ARCH
from tests.helpers.models import tiny_timm_vit
from tests.helpers.paths import ROOT


def test_ckpt_is_weights_only_readable_and_detected(lightning_fit):
    _, path = lightning_fit
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    ckpt = load_checkpoint_file(path)
    assert ckpt['global_step'] == 10 and detect_format(ckpt) == 'lightning'
    assert ckpt['mae_schedule']['total_steps'] == 10


def test_ckpt_converts_to_timm_and_loads_strictly_into_timm_create_model(lightning_fit, tmp_path):
    from tools.convert_checkpoint import main as convert

    cli, path = lightning_fit
    out = tmp_path / 'vit.pth'
    convert([path, str(out), '--to', 'timm'])
    vit = tiny_timm_vit()
    vit.load_state_dict(torch.load(out, weights_only=True), strict=True)
    images = torch.randn(2, 3, 64, 64)
    mae = cli.model.mae.eval()
    with torch.no_grad():
        torch.testing.assert_close(vit.eval().forward_features(images), mae.encoder(images))


@pytest.mark.parametrize('fmt', ['plugin', 'official', 'lightly', 'hf'])
def test_ckpt_converts_for_mmengine_and_init_model_reads_it_as_is(lightning_fit, tmp_path, fmt):
    """Every writable format (hf: a folder whose head counts come from the .ckpt's
    hyper-parameters), read back by init_model; and the .ckpt itself."""
    from mae_plugin.apis import init_model
    from tools.convert_checkpoint import main as convert

    cli, path = lightning_fit
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


def test_encoder_consumers_load_the_ckpt(lightning_fit):
    """The one encoder loader (classification, ViTDet and segmentation init_cfg) reads it."""
    from mae_plugin.checkpoints import load_encoder_weights

    cli, path = lightning_fit
    vit = tiny_timm_vit()
    report = load_encoder_weights(vit, path, (8, 8))
    assert report.format == 'lightning' and len(report.loaded) == len(vit.state_dict())
    for key, value in vit.state_dict().items():
        assert torch.equal(value, cli.model.mae.encoder.vit.state_dict()[key]), key
