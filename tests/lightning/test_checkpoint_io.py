"""MAECheckpointIO: .ckpt files read weights-only, running nothing; a non-finite weight is
refused and a write killed midway keeps the old file."""

import os

import pytest
import torch

from mae_plugin.checkpoints import UnsafeCheckpointError
from mae_plugin.lightning import MAECheckpointIO, MAEFSDP2Strategy, MAEFSDPStrategy


class Touch:
    """A pickle that creates a file when loaded (it must never be)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


def test_checkpoint_io_reads_weights_only_and_runs_nothing(tmp_path):
    io = MAECheckpointIO()
    evil, marker = tmp_path / 'evil.ckpt', tmp_path / 'ran'
    torch.save({'state_dict': {}, 'x': Touch(str(marker))}, evil)
    with pytest.raises(UnsafeCheckpointError, match='evil.ckpt'):
        io.load_checkpoint(evil)
    for strategy in (MAEFSDPStrategy(), MAEFSDP2Strategy()):
        with pytest.raises(UnsafeCheckpointError, match='evil.ckpt'):
            strategy.load_checkpoint(evil)
    assert not marker.exists()
    good = tmp_path / 'good.ckpt'
    io.save_checkpoint({'state_dict': {'w': torch.ones(2)}}, good)
    assert torch.equal(io.load_checkpoint(good)['state_dict']['w'], torch.ones(2))
    with pytest.raises(ValueError, match='weights_only=True only'):
        io.load_checkpoint(good, weights_only=False)


def test_checkpoint_io_refuses_nan_and_a_write_killed_midway_keeps_the_old_file(tmp_path):
    io = MAECheckpointIO()
    path = tmp_path / 'last.ckpt'
    io.save_checkpoint({'state_dict': {'w': torch.ones(2)}, 'step': 1}, path)
    with pytest.raises(FloatingPointError, match=r"last.ckpt' not written: weight 'w'"):
        io.save_checkpoint({'state_dict': {'w': torch.tensor([1.0, float('nan')])}}, path)

    class Boom:
        def __reduce__(self):
            raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        io.save_checkpoint({'state_dict': {'w': torch.zeros(2)}, 'x': Boom()}, path)
    assert io.load_checkpoint(path)['step'] == 1
    assert sorted(os.listdir(tmp_path)) == ['last.ckpt']  # the partial file is gone
