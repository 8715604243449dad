"""A private copy of the shared tiny demo run (``tiny_demo_run`` in tests/conftest.py), for the
tests that write into or break the work dir they summarise."""

from __future__ import annotations

import os
import shutil


def copy_demo_run(tmp_path_factory, tiny_demo_run) -> str:
    """The 6-iteration tiny demo run copied into a folder of the demo's name, its
    ``last_checkpoint`` naming the copy's own ``iter_6.pth`` (as a run of its own writes)."""
    work = str(tmp_path_factory.mktemp('summary') / 'mae_vit-t_demo')
    shutil.copytree(tiny_demo_run[0], work)
    with open(os.path.join(work, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(work, 'iter_6.pth'))
    return work
