"""tools/convert_checkpoint.py never overwrites its input and never leaves a half-written file."""

import os

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tests.conftest import save_plugin_checkpoint, tiny_mae
from tools.convert_checkpoint import main as convert_main


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
