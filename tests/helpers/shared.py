"""Folders built once per test run and shared by every pytest-xdist worker."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from tests.order import Waits

# this process's waits for another worker's build: tests/conftest.py hands them to the
# report of the phase that waited (tests/order.py does not count them as the test's time)
WAITS = Waits()


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The folder ``name`` filled by ``build(folder)`` once per test run: under pytest-xdist the
    first worker to ask builds it while the others wait on a file lock, then every worker reads
    it (tests copy before they change anything). A build that raised is retried by the next."""
    base = tmp_path_factory.getbasetemp()
    if 'PYTEST_XDIST_WORKER' in os.environ:
        base = base.parent  # this run's folder, above the workers' own
    folder, done = base / f'shared-{name}', base / f'shared-{name}.done'
    asked = time.monotonic()
    with FileLock(f'{folder}.lock'):
        WAITS.add(time.monotonic() - asked)  # another worker's build, if one held the lock
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
