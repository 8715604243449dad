"""tools/convert_checkpoint.py as a command: a report of every key."""

import os

import pytest
import torch

from mae_plugin.checkpoints import (
    from_core,
)
from tests.helpers import processes
from tests.helpers.checkpoints import save, save_plugin_checkpoint
from tests.helpers.models import tiny_mae
from tests.helpers.paths import ROOT


@pytest.fixture
def src(tmp_path):
    torch.manual_seed(0)
    return save_plugin_checkpoint(tiny_mae(), tmp_path / 'in.pth')


def test_convert_tool_prints_a_report(tmp_path, demo_core):
    src = save(tmp_path, 'official.pth', from_core(demo_core, 'official'))
    tool = os.path.join(ROOT, 'tools', 'convert_checkpoint.py')
    out = processes.python(tool, src, str(tmp_path / 'timm.pth'), '--to', 'timm').stdout
    assert 'format: official' in out and 'MAE decoder, timm has no place for it' in out
    assert 'wrote' in out and os.path.isfile(tmp_path / 'timm.pth')
