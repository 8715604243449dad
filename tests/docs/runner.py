"""Running snippets: a throw-away folder shaped like the repository after ``make demo``, the
commands of a block (with substitutions.py's changes) and Python blocks, each in a subprocess."""

import atexit
import os
import re
import shlex
import shutil
import sys

from tests.docs import substitutions as subs
from tests.docs.snippets import Block, Command, commands, form
from tests.docs.warm import WarmPython
from tests.helpers import processes
from tests.helpers.paths import ROOT

LINKED = ('tools', 'configs', 'Makefile')
TIMEOUT = 600  # seconds, one command
DROPPED_ENV = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


def workspace(path: str, template: str) -> str:
    """``path`` made like the repository after ``make demo``: tools, configs, Makefile and the
    venv linked; data/ copied from ``template`` (commands write there); work_dirs/ copied with
    its checkpoints linked."""
    os.makedirs(path, exist_ok=True)
    for name in LINKED:
        os.symlink(os.path.join(ROOT, name), os.path.join(path, name))
    os.symlink(sys.prefix, os.path.join(path, '.venv'))
    shutil.copytree(os.path.join(template, 'data'), os.path.join(path, 'data'), symlinks=True)
    shutil.copytree(
        os.path.join(template, 'work_dirs'),
        os.path.join(path, 'work_dirs'),
        copy_function=_link_checkpoints,
    )
    return path


def _link_checkpoints(src: str, dst: str) -> None:
    if src.endswith('.pth'):
        os.symlink(src, dst)
    elif os.path.basename(src) == 'last_checkpoint':  # an absolute path: point at this copy
        with open(dst, 'w') as f:
            f.write(os.path.join(os.path.dirname(dst), os.path.basename(open(src).read().strip())))
    else:
        shutil.copy2(src, dst)


def environment(extra: dict | None = None) -> dict:
    """A user's shell with the venv active (see the table), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env['PATH'] = os.path.join(sys.prefix, 'bin') + os.pathsep + env.get('PATH', '')
    env['PYTHONPATH'] = ROOT
    env['MPLBACKEND'] = 'Agg'
    if os.environ.get('PYTEST_XDIST_WORKER'):  # two workers share the 2 cores
        env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra or {})
    return env


_WARM: list[WarmPython] = []  # this process's warm server (warm.py), started on first use


def warm_server() -> WarmPython:
    if not _WARM:
        _WARM.append(WarmPython(environment()))
        atexit.register(_WARM[0].stop)  # reaped here: its CPU time counts in this run's
    return _WARM[0]


def runs_warm(argv: list[str], env: dict) -> bool:
    """``python SCRIPT.py ...`` with the plain environment: forked from the warm server."""
    python = argv[0] in ('python', '.venv/bin/python', sys.executable)
    return python and len(argv) > 1 and argv[1].endswith('.py') and env == environment()


def run(argv: list[str], cwd: str, where: str, env: dict) -> str:
    """Run ``argv`` to the end; AssertionError with ``where``, the command and the output's
    tail when it fails. Returns the output."""
    try:
        if runs_warm(argv, env):
            rc, out, err = warm_server().run(argv[1:], cwd, TIMEOUT)
        else:
            done = processes.run(argv, cwd=cwd, env=env, timeout=TIMEOUT, check=False)
            rc, out, err = done.returncode, done.stdout, done.stderr
    except (OSError, AssertionError, TimeoutError) as e:  # AssertionError: timed out
        raise AssertionError(f'{where}: `{shlex.join(argv)}`: {e}') from e
    if rc != 0:
        raise AssertionError(
            f'{where}: `{shlex.join(argv)}` exited with {rc}:\n{out[-2000:]}\n{err[-4000:]}'
        )
    return out + err


def run_python(block: Block, cwd: str) -> str:
    """A Python block, as a file in ``cwd`` run by the venv's python."""
    script = os.path.join(cwd, f'snippet_{block.line}.py')
    with open(script, 'w') as f:
        f.write(block.body + '\n')
    where = f'{block.id} (line N of {os.path.basename(script)} is line {block.line} + N)'
    return run([sys.executable, script], cwd, where, environment())


def run_block(block: Block, cwd: str) -> None:
    """Every command of an unmarked command block, in order, in ``cwd``."""
    exported: dict = {}
    for command in commands(block):
        run_command(command, cwd, exported)


def run_command(command: Command, cwd: str, exported: dict) -> None:
    argv, where, kind = list(command.argv), command.where, form(command)
    if kind == 'export':
        exported.update(a.split('=', 1) for a in argv[1:])
    elif kind == 'pip install':
        check_install(argv, where)
    elif kind in ('ls', 'cat'):
        run(argv, cwd, where, environment(exported))
    elif kind != 'checked':
        return  # git clone, cd after it, source .venv/bin/activate: not run (the table)
    elif argv[0] == 'make':
        run_make(argv, cwd, where, exported)
    else:
        run_tool(argv, cwd, where, exported)


def run_tool(argv: list[str], cwd: str, where: str, exported: dict) -> None:
    """``python tools/X.py``, ``torchrun ...`` or ``bash tools/X.sh`` with the substitutions."""
    extra, script, args = dict(exported), argv[1], argv[2:]
    if argv[0] == 'torchrun':
        argv, page = subs.torchrun(argv, cwd, where), argv
        first = next(i for i, a in enumerate(page) if a.endswith('.py'))
        script, args = page[first], page[first + 1 :]
    elif argv[0] == 'bash' and os.path.basename(argv[1]) == 'dist_train.sh':
        (argv, port), page = subs.dist_train(argv, cwd, where), argv
        script, args = 'tools/train.py', [page[2], *page[4:]]
        extra.update(port)
    elif argv[0] in ('python', '.venv/bin/python'):
        argv = [argv[0], argv[1], *subs.script_arguments(argv[1], argv[2:], cwd)]
    run(argv, cwd, where, environment(extra))
    subs.link_full_run_checkpoint(script, args, cwd)


def check(command: Command) -> None:
    """What can be checked without running: make targets exist, pip extras exist, launches of
    at most the processes a CPU machine runs."""
    argv, where = list(command.argv), command.where
    if argv[0] == 'make':
        make_targets(argv, where)
    elif form(command) == 'pip install':
        check_install(argv, where)
    elif argv[0] == 'torchrun':
        subs.processes(argv, where)
    elif argv[:2] == ['bash', 'tools/dist_train.sh'] and len(argv) > 3:
        subs.processes([f'--nproc_per_node={argv[3]}'], where)


def make_targets(argv: list[str], where: str) -> list[str]:
    """The targets of ``make TARGET ...``, each checked to exist in the Makefile."""
    targets = [a for a in argv[1:] if not a.startswith('-') and '=' not in a]
    if len(targets) != len(argv) - 1 or not targets:
        raise AssertionError(f'{where}: `{shlex.join(argv)}`: make with targets only')
    rules = set(re.findall(r'^([\w.-]+)\s*:', open(os.path.join(ROOT, 'Makefile')).read(), re.M))
    for target in targets:
        if target not in rules:
            raise AssertionError(f'{where}: the Makefile has no target {target!r}')
    return targets


def run_make(argv: list[str], cwd: str, where: str, exported: dict) -> None:
    """``make TARGET ...``: targets in MAKE_NOT_RUN are checked to exist; the others are expanded
    with ``make -n`` and their lines run with the substitutions."""
    for target in make_targets(argv, where):
        if target not in subs.MAKE_NOT_RUN:
            for line in expand_make(target, cwd, where):
                run_make_line(line, cwd, f'{where} (make {target}: {line})', exported)


def expand_make(target: str, cwd: str, where: str) -> list[str]:
    """The shell lines ``make TARGET`` would run in ``cwd``, the install stamps taken as made."""
    stamps = [a for s in subs.STAMPS for a in ('-o', s)]
    argv = ['make', '-n', '--no-print-directory', *stamps, target]
    return run(argv, cwd, where, environment()).splitlines()


def run_make_line(line: str, cwd: str, where: str, exported: dict) -> None:
    """One line of a make expansion: a tool line, or ``test -f|-d PATH || LINE``."""
    guard = re.match(r'^test -([fd]) (\S+) \|\| (.+)$', line)
    if guard:
        kind, path, line = guard.groups()
        exists = os.path.isfile if kind == 'f' else os.path.isdir
        if exists(os.path.join(cwd, path)):
            return
    argv = shlex.split(line)
    program = 'python' if argv[0] == '.venv/bin/python' else argv[0]  # $(PY) in the Makefile
    if form(Command(where, (program, *argv[1:]))) != 'checked':
        raise AssertionError(f'{where}: a line the suite does not know how to run')
    if argv[0] == 'make':
        run_make(argv, cwd, where, exported)
    else:
        run_tool(argv, cwd, where, exported)


def check_install(argv: list[str], where: str) -> None:
    """``pip install`` of this project only; each extra named must exist in pyproject.toml."""
    targets = [a for a in argv[argv.index('install') + 1 :] if a != '-e']
    extras = pyproject_extras()
    for target in targets:
        match = re.match(r'^\.(?:\[([\w,-]+)\])?$', target)
        if match is None:
            raise AssertionError(
                f'{where}: `{shlex.join(argv)}`: only installs of this project (., -e ., '
                '".[extra]") are allowed plain forms; mark the block `# needs: <what>`'
            )
        for extra in filter(None, (match.group(1) or '').split(',')):
            if extra not in extras:
                raise AssertionError(f'{where}: pyproject.toml has no extra {extra!r}')


def pyproject_extras() -> set[str]:
    """The names under ``[project.optional-dependencies]`` (tomllib is 3.11+, we support 3.10)."""
    text = open(os.path.join(ROOT, 'pyproject.toml')).read()
    section = text.partition('[project.optional-dependencies]')[2].partition('\n[')[0]
    return set(re.findall(r'^([\w-]+)\s*=', section, re.M))
