"""The warm start of ``python SCRIPT`` (warm.py) and the blocks the session fixture covers."""

import os
import sys

import pytest

from tests.docs.runner import environment, run, runs_warm
from tests.docs.selection import run_by_fixture
from tests.docs.snippets import read_blocks
from tests.docs.warm import WarmPython

PROBE = """import gc, json, os, sys
print(json.dumps(dict(
    name=__name__, argv=sys.argv, cwd=os.getcwd(), path0=sys.path[0], stdin=sys.stdin.read(),
    var=os.environ.get('WARM_PROBE'), fresh='mae_plugin' not in sys.modules
    and 'warm_marker' not in sys.modules, frozen=gc.get_freeze_count() > 0,
)))
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def warm():
    server = WarmPython(dict(environment(), WARM_PROBE='yes'))
    yield server
    server.close()


def test_a_warm_command_runs_as_a_fresh_interpreter_would(tmp_path, warm):
    import json

    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'probe.py').write_text(PROBE)
    (tmp_path / 'warm_marker.py').write_text('')
    (tmp_path / 'first.py').write_text('import mae_plugin, warm_marker\n')
    assert warm.run(['first.py'], str(tmp_path), 60)[0] == 0  # imports in its own process only
    rc, out, err = warm.run(['tools/probe.py', '3'], str(tmp_path), 60)
    assert rc == 3, err
    assert json.loads(out) == dict(
        name='__main__',
        argv=['tools/probe.py', '3'],
        cwd=str(tmp_path),
        path0=str(tmp_path / 'tools'),
        stdin='',
        var='yes',
        fresh=True,
        frozen=True,  # the server's imports, skipped by the collections (warm.py)
    )
    server = warm.proc
    warm.stop()
    assert server.returncode == 0  # the idle server ends when its input closes


def test_a_warm_error_exits_1_with_its_traceback_and_a_hang_is_killed(tmp_path):
    warm = WarmPython(environment(), preload=())  # no imports: seconds
    (tmp_path / 'bad.py').write_text('print("before")\nraise ValueError("boom")\n')
    rc, out, err = warm.run(['bad.py'], str(tmp_path), 60)
    assert (rc, out) == (1, 'before\n') and 'ValueError: boom' in err
    (tmp_path / 'hang.py').write_text('import time\ntime.sleep(60)\n')
    with pytest.raises(TimeoutError):
        warm.run(['hang.py'], str(tmp_path), 1)
    assert warm.run(['bad.py'], str(tmp_path), 60)[0] == 1  # a new server after the kill
    warm.close()


def test_only_plain_python_scripts_run_warm(tmp_path):
    env = environment()
    assert runs_warm(['python', 'tools/train.py', 'c.py'], env)
    assert runs_warm(['.venv/bin/python', 'tools/train.py'], env)
    assert not runs_warm(['python', '-m', 'pip'], env)
    assert not runs_warm(['torchrun', 'tools/train.py'], env)
    assert not runs_warm(['python', 'tools/train.py'], dict(env, CUDA_VISIBLE_DEVICES=''))
    (tmp_path / 'fail.py').write_text('raise SystemExit(2)\n')
    with pytest.raises(AssertionError, match='here: `python fail.py` exited with 2'):
        run(['python', 'fail.py'], str(tmp_path), 'here', env)
    with pytest.raises(AssertionError, match='exited with 2'):  # the cold path says the same
        run([sys.executable, os.path.join(tmp_path, 'fail.py')], '/', 'here', dict(env, X='1'))


def test_blocks_running_only_what_the_fixture_runs_are_covered(tmp_path):
    path = tmp_path / 'page.md'
    blocks = ['make demo\nmake test', 'make demo\npython tools/x.py', 'make test', 'make demo-cls']
    path.write_text(''.join(f'```bash\n{b}\n```\n' for b in blocks))
    found = read_blocks(str(path), str(tmp_path))
    assert [run_by_fixture(b) for b in found] == [True, False, False, False]
