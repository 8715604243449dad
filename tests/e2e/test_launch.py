"""A finished ``tools/train.py --launcher pytorch`` run ends its process group (barrier, then
destroy): a process that exits with a gloo group alive can abort at exit after its work is done
('terminate called without an active exception', seen on CI under torchrun)."""

from tests.helpers import processes
from tests.helpers.mmengine_runs import cli, tiny_options
from tests.helpers.paths import DEMO, ROOT, TRAIN
from tests.helpers.ports import free_port

# the launcher's environment for a world of one process, then the tool as torchrun starts it
# (its ``__main__`` block); the process exit it ends with reports the group's state first
SCRIPT = """
import os, runpy, sys
import torch.distributed as dist
os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                  MASTER_PORT=sys.argv[1])
def reported_exit(code):
    print('group alive after the run:', dist.is_initialized(), flush=True)
    sys.exit(code)
os._exit = reported_exit
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
print('the tool returned without ending the process')
"""


def test_a_finished_launcher_run_leaves_no_process_group(tmp_path, demo_root):
    port = free_port()
    args = [TRAIN, DEMO, '--launcher', 'pytorch', '--work-dir', str(tmp_path)]
    args += cli(tiny_options(demo_root, 1, 1))
    env = {'PYTHONPATH': ROOT, 'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'}
    proc = processes.python('-c', SCRIPT, port, *args, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'group alive after the run: False' in proc.stdout, proc.stdout[-2000:]
    assert 'the tool returned' not in proc.stdout
