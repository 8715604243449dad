"""The repository's tools run as commands."""

import os
import sys

from tests.helpers import processes
from tests.helpers.paths import ROOT


def run(*args: str) -> processes.Finished:
    """``python ARGS`` with this interpreter's import path (AssertionError unless it ends 0)."""
    env = processes.environment(PYTHONPATH=os.pathsep.join([ROOT] + sys.path))
    return processes.python(*args, env=env, timeout=300)
