import os
import sys
from pathlib import Path

import pytest

from tests.docs.runner import LINKED, ROOT, run_make
from tests.docs.selection import FIXTURE_COMMANDS
from tests.helpers.shared import built_once


@pytest.fixture(scope='session')
def after_make_demo(tmp_path_factory) -> str:
    """A folder holding what ``make demo`` leaves, made by running it the way the suite runs a
    page's ``make demo`` (expanded, the substitutions of substitutions.py): data/demo, and
    work_dirs/mae_vit-t_demo with the 2-step run's iter_2.pth also as iter_500.pth.
    Made once per test run (pytest-xdist's workers share it); read only."""
    return str(built_once(tmp_path_factory, 'docs-after-make-demo', _make_demo))


def _make_demo(path: Path) -> None:
    for name in LINKED:
        os.symlink(os.path.join(ROOT, name), path / name)
    os.symlink(sys.prefix, path / '.venv')
    for argv in FIXTURE_COMMANDS:
        run_make(list(argv), str(path), 'the session fixture after_make_demo', {})
    assert (path / 'work_dirs' / 'mae_vit-t_demo' / 'iter_500.pth').is_file()
