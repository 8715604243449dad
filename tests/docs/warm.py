"""A warm start for ``python SCRIPT ...``: one server process per test worker imports the
third-party libraries every tool needs (PRELOAD: torch, torchvision, mmengine), then forks a
child per command. The child runs SCRIPT as ``__main__`` in its own process and exits as a
fresh interpreter would (uncaught error: traceback and status 1); mae_plugin and the tool are
imported by the child itself, so the registries are fresh and a tool that forgets an import
still fails. Saves the ~4 s of those imports per command (docs/doc-tests.md).

The server freezes what it imported for the garbage collector (``gc.freeze``) before it forks:
a full collection in the child, and the several of an interpreter's exit, then skip those
objects (module-level state that lives as long as the process), about 1 s of each command."""

import gc
import json
import os
import select
import signal
import subprocess
import sys
import tempfile

PRELOAD = ('numpy', 'PIL.Image', 'torch', 'torchvision', 'mmengine.runner')


class WarmPython:
    """The client: ``run`` sends one command to the server and waits for its exit status."""

    def __init__(self, env: dict, preload: tuple[str, ...] = PRELOAD) -> None:
        self.env, self.preload = dict(env), preload
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), *self.preload],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its group: the server and the command of the moment
            )
        return self.proc

    def run(self, argv: list[str], cwd: str, timeout: float) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of ``python argv[0] argv[1:]`` in ``cwd``; raises
        TimeoutError (the server and the command killed) after ``timeout`` seconds."""
        proc = self._start()
        with tempfile.TemporaryDirectory() as tmp:
            out, err = os.path.join(tmp, 'out'), os.path.join(tmp, 'err')
            request = dict(argv=argv, cwd=cwd, env=self.env, out=out, err=err)
            proc.stdin.write(json.dumps(request) + '\n')
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else ''
            if not line:
                self.close()
                raise TimeoutError(f'no exit within {timeout} s (or the warm server died)')
            return json.loads(line)['rc'], open(out).read(), open(err).read()

    def close(self) -> None:
        """Kill the server and the command it runs now."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """End the idle server (its input closes) and reap it; kill it after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.close()
        self.proc = None


def _serve(preload: list[str]) -> dict | None:
    """The server's loop: imports ``preload``, then returns the request in a forked child
    (None when stdin closes)."""
    for name in preload:
        __import__(name)
    gc.freeze()  # the children's collections skip what the server imported (the docstring)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            return request
        _, status = os.waitpid(pid, 0)
        print(json.dumps({'rc': os.waitstatus_to_exitcode(status)}), flush=True)
    return None


def _become(request: dict) -> str:
    """In the child: the process ``python SCRIPT ARGS`` would be (cwd, env, argv, path, stdio)."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request['out']), (2, request['err'])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    script = request['argv'][0]
    sys.argv = list(request['argv'])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    return script


if __name__ == '__main__':
    _request = _serve(sys.argv[1:])
    if _request is not None:
        import runpy

        runpy.run_path(_become(_request), run_name='__main__')
