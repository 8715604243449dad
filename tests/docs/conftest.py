import os
import sys
from pathlib import Path

import pytest

from tests.conftest import built_once
from tests.docs import substitutions as subs
from tests.docs.runner import LINKED, ROOT, environment, run

DEMO_CONFIG = 'configs/mae_vit-t_demo.py'
DEMO_WORK_DIR = 'work_dirs/mae_vit-t_demo'


@pytest.fixture(scope='session')
def after_make_demo(tmp_path_factory) -> str:
    """A folder holding what ``make demo`` leaves: data/demo written by
    ``tools/prepare_demo_data.py data/demo`` and work_dirs/mae_vit-t_demo, a run of the demo
    config with the substitutions of substitutions.py, its checkpoint renamed iter_500.pth.
    Made once per test run (pytest-xdist's workers share it); read only."""
    return str(built_once(tmp_path_factory, 'docs-after-make-demo', _make_demo))


def _make_demo(path: Path) -> None:
    for name in LINKED:
        os.symlink(os.path.join(ROOT, name), path / name)
    env = environment()
    where = 'the session fixture after_make_demo'
    run([sys.executable, 'tools/prepare_demo_data.py', 'data/demo'], str(path), where, env)
    args = subs.script_arguments('tools/train.py', [DEMO_CONFIG], str(path))
    run(
        [sys.executable, 'tools/train.py', *args, '--work-dir', DEMO_WORK_DIR],
        str(path),
        where,
        env,
    )
    work = path / DEMO_WORK_DIR
    (work / f'iter_{subs.ITERS}.pth').rename(work / 'iter_500.pth')
    (work / 'last_checkpoint').write_text(str(work / 'iter_500.pth'))
