"""Conversion between formats (tools/convert_checkpoint.py's functions): never the input
overwritten, never a half-written output."""

import os

import pytest
import torch

from mae_plugin.apis import init_model
from mae_plugin.checkpoints import (
    load_checkpoint_file,
)
from tests.helpers.checkpoints import DEMO_CFG, save_plugin_checkpoint
from tests.helpers.hf import random_mae, tiny_hf_folder
from tests.helpers.models import tiny_mae
from tools.convert_checkpoint import main as convert_main


@pytest.fixture
def folder(tmp_path):
    return tiny_hf_folder(tmp_path)


@pytest.fixture
def src(tmp_path):
    torch.manual_seed(0)
    return save_plugin_checkpoint(tiny_mae(), tmp_path / 'in.pth')


def test_output_equal_to_input_is_refused_and_the_input_kept(tmp_path, src):
    before = open(src, 'rb').read()
    os.symlink(src, tmp_path / 'link.pth')
    os.mkdir(tmp_path / 'sub')
    for dst in (src, str(tmp_path / 'link.pth'), str(tmp_path / 'sub' / '..' / 'in.pth')):
        with pytest.raises(ValueError, match=f"output '{dst}' is the input") as err:
            convert_main([src, dst, '--to', 'timm'])
        assert os.path.realpath(src) in str(err.value)
    with pytest.raises(ValueError, match='is the input'):  # the link as input, the file as output
        convert_main([str(tmp_path / 'link.pth'), src, '--to', 'plugin'])
    assert open(src, 'rb').read() == before
    assert sorted(os.listdir(tmp_path)) == ['in.pth', 'link.pth', 'sub']


def _failing_save(obj, f, *args, **kwargs):
    """torch.save that dies after a few bytes (disk full, killed process)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, 'wb') as handle:
            handle.write(b'PK\x03\x04 half')
    else:
        f.write(b'PK\x03\x04 half')
    raise OSError('no space left on device (simulated)')


@pytest.mark.parametrize('existing', [b'the previous conversion', None])
def test_a_failed_write_leaves_the_destination_untouched(tmp_path, src, monkeypatch, existing):
    dst = tmp_path / 'out.pth'
    if existing is not None:
        dst.write_bytes(existing)
    monkeypatch.setattr(torch, 'save', _failing_save)
    with pytest.raises(OSError, match='simulated'):
        convert_main([src, str(dst), '--to', 'timm'])
    if existing is None:
        assert not dst.exists()
    else:
        assert dst.read_bytes() == existing
    assert not any(name.endswith('.partial') for name in os.listdir(tmp_path))
    monkeypatch.undo()
    convert_main([src, str(dst), '--to', 'timm'])  # and a write that completes replaces it
    assert 'patch_embed.proj.weight' in load_checkpoint_file(dst)


def test_cli_converts_a_folder_and_init_model_reads_it(tmp_path, folder, capsys):
    out = tmp_path / 'cli_hf'
    convert_main([str(folder), str(out), '--to', 'hf'])  # every field from IN's config.json
    assert 'format: hf' in capsys.readouterr().out
    assert (out / 'config.json').read_text() == (folder / 'config.json').read_text()
    assert (out / 'model.safetensors').read_bytes() == (folder / 'model.safetensors').read_bytes()
    torch.manual_seed(0)
    model = init_model(
        DEMO_CFG,
        str(out),
        cfg_options={
            'model.encoder.img_size': 32,
            'model.encoder.embed_dim': 48,
            'model.encoder.depth': 2,
            'model.decoder.embed_dim': 32,
            'model.decoder.depth': 1,
            'model.decoder.num_heads': 2,
        },
    )
    assert model.load_report.format == 'hf' and not model.load_report.left_new
    expected = random_mae().state_dict()
    assert all(torch.equal(model.mae.state_dict()[k], v) for k, v in expected.items())


def test_output_inside_the_input_folder_is_refused(tmp_path, folder):
    before = (folder / 'model.safetensors').read_bytes()
    for dst in (folder / 'model.safetensors', folder / 'sub'):
        with pytest.raises(ValueError, match='lie one inside the other'):
            convert_main([str(folder), str(dst), '--to', 'hf'])
    with pytest.raises(ValueError, match='lie one inside the other'):
        convert_main([str(folder / 'model.safetensors'), str(folder), '--to', 'hf'])
    assert (folder / 'model.safetensors').read_bytes() == before
    assert sorted(os.listdir(folder)) == ['config.json', 'model.safetensors']
