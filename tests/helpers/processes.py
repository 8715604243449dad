"""The one way tests start a tool, torchrun or any Python in another process.

``start`` / ``finish`` (``run`` does both): the child runs in its own process group, which is
killed whole when it times out and when it ends (a DDP child that a failed rank 0 left behind),
from the checkout's root with the checkout on ``PYTHONPATH`` and one OpenMP thread (two pytest
workers share the cores).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port

TIMEOUT = 600  # seconds


@dataclass(frozen=True)
class Finished:
    """A child that ended: its exit code and what it wrote (``stderr`` is empty when it was
    merged into ``stdout``)."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def environment(**changes: str | None) -> dict[str, str]:
    """This process's environment with ``PYTHONPATH`` the checkout and one OpenMP thread, then
    ``changes`` (a value of None removes the variable)."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def torchrun(nproc: int = 2, *, port: str | None = None) -> list[str]:
    """The head of ``torchrun --nproc_per_node=NPROC --master_port PORT`` (a free port)."""
    port = port or free_port()
    return [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
            '--master_port', port]  # fmt: skip


def start(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str = ROOT, merge: bool = False
) -> subprocess.Popen:
    """Start ``argv`` in a process group of its own (``merge``: stderr into stdout)."""
    return subprocess.Popen(
        [str(a) for a in argv],
        cwd=cwd,
        env=environment() if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, *, timeout: float = TIMEOUT, check: bool = True) -> Finished:
    """Wait for ``proc``; on timeout its group is killed and AssertionError shows the output's
    tail. ``check``: AssertionError with the tails unless it exited with 0."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise AssertionError(f'timed out after {timeout}s:\n{out[-4000:]}\n{err or ""}') from None
    finally:
        _kill_group(proc)
    done = Finished(proc.returncode, out, err or '')
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return done


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str = ROOT,
    timeout: float = TIMEOUT,
    check: bool = True,
    merge: bool = False,
) -> Finished:
    """Run ``argv`` to the end (``start`` then ``finish``)."""
    return finish(start(argv, env=env, cwd=cwd, merge=merge), timeout=timeout, check=check)


def python(*args: str, **kw) -> Finished:
    """``run`` of ``python ARGS`` with this interpreter."""
    return run([sys.executable, *args], **kw)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
