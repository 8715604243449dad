"""mae_plugin.fileio: a reader sees the old file or the complete new one (also when the
writing process is killed midway), and the rename is made durable by an fsync of the folder after
it."""

import os
import signal
import stat
import textwrap

import pytest
import torch

from mae_plugin import fileio
from mae_plugin.fileio import PARTIAL_SUFFIX
from tests.helpers import processes


def test_a_write_cut_short_leaves_the_old_file_and_no_partial(tmp_path):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError, match='killed'):
        with fileio.atomic_open(path) as f:
            f.write(b'half of the new')
            raise RuntimeError('killed mid-write')
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['out.bin']


def test_the_file_then_its_folder_are_fsynced_around_the_rename(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd):
        events.append('fsync folder' if stat.S_ISDIR(os.fstat(fd).st_mode) else 'fsync file')
        fsync(fd)

    def record_replace(src, dst):
        events.append(f'rename {os.path.basename(src)} -> {os.path.basename(dst)}')
        replace(src, dst)

    monkeypatch.setattr(fileio.os, 'fsync', record_fsync)
    monkeypatch.setattr(fileio.os, 'replace', record_replace)
    fileio.atomic_write_text('ü', tmp_path / 'sub' / 'a.txt')  # the folder is created
    assert events == ['fsync file', 'rename a.txt.partial -> a.txt', 'fsync folder']
    assert (tmp_path / 'sub' / 'a.txt').read_bytes() == 'ü'.encode()
    events.clear()
    fileio.fsync_dir(tmp_path)  # public: for writers that rename on their own
    assert events == ['fsync folder']
    events.clear()
    with fileio.atomic_open(tmp_path / 'b.png', durable=False) as f:  # regenerable: no fsync
        f.write(b'png')
    assert events == ['rename b.png.partial -> b.png']
    assert (tmp_path / 'b.png').read_bytes() == b'png'


def test_a_torch_save_that_fails_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    fileio.atomic_torch_save({'w': torch.arange(3)}, tmp_path / 'w.pth')
    save = torch.save

    def half_save(obj, f, *args, **kwargs):
        save(obj, f, *args, **kwargs)
        raise OSError('no space left on device (simulated)')

    monkeypatch.setattr(torch, 'save', half_save)
    with pytest.raises(OSError, match='simulated'):
        fileio.atomic_torch_save({'w': torch.zeros(3)}, tmp_path / 'w.pth')
    assert torch.equal(torch.load(tmp_path / 'w.pth', weights_only=True)['w'], torch.arange(3))
    assert os.listdir(tmp_path) == ['w.pth']


def test_a_write_killed_midway_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / 'iter_1.pth'
    torch.save({'step': torch.tensor(1)}, path)
    writer = textwrap.dedent(f"""\
        import os, signal, torch, io
        from mae_plugin.fileio import atomic_open
        data = io.BytesIO()
        torch.save({{'step': torch.arange(100000)}}, data)
        with atomic_open({str(path)!r}) as f:
            f.write(data.getvalue()[:1000])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = processes.python('-c', writer, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert torch.load(path, weights_only=True)['step'] == 1  # the old file, whole
    assert os.path.getsize(str(path) + PARTIAL_SUFFIX) == 1000  # the torn write, aside
