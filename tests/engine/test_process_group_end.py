"""A finished ``tools/train.py --launcher pytorch`` run ends its process group (barrier, then
destroy): a process that exits with a gloo group alive can abort at exit after its work is done
('terminate called without an active exception', seen on CI under torchrun)."""

import subprocess
import sys

from tests.conftest import ROOT, free_port
from tests.engine.demo_run import DEMO, TRAIN, cli
from tests.engine.fsdp_run import tiny_options

# the launcher's environment for a world of one process, then the tool's main() as torchrun
# starts it (its ``__main__`` block then ends the process: exit_launched_process)
SCRIPT = """
import os, runpy, sys
import torch.distributed as dist
os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                  MASTER_PORT=sys.argv[1])
tool = runpy.run_path(sys.argv[2], run_name='train_tool')  # main() without the process exit
tool['main'](sys.argv[3:])
print('group alive after the run:', dist.is_initialized())
"""


def test_a_finished_launcher_run_leaves_no_process_group(tmp_path, demo_root):
    port = free_port()
    args = [TRAIN, DEMO, '--launcher', 'pytorch', '--work-dir', str(tmp_path)]
    args += cli(tiny_options(demo_root, 1, 1))
    proc = subprocess.run(
        [sys.executable, '-c', SCRIPT, port, *args],
        cwd=ROOT,
        env={'PYTHONPATH': ROOT, 'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'group alive after the run: False' in proc.stdout, proc.stdout[-2000:]
