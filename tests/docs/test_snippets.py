"""Documentation that cannot lie: every python block and every command block of README.md and
docs/**/*.md runs here on the demo data (docs/doc-tests.md: the convention, the substitutions),
unless its first line says what it needs (``# needs: <what>``)."""

import importlib.util
import os
import re

import pytest

from tests.docs import substitutions as subs
from tests.docs.conftest import FIXTURE_COMMANDS
from tests.docs.runner import ROOT, check, run_block, run_python, workspace
from tests.docs.snippets import (
    PLAIN_FORMS,
    Block,
    SnippetError,
    commands,
    doc_pages,
    read_blocks,
)

TRANSFER = ('mmcv', 'mmdet', 'mmseg')


def _collect() -> tuple[list[Block], list[str]]:
    blocks, errors = [], []
    for page in doc_pages(ROOT):
        try:
            blocks += [b for b in read_blocks(page, ROOT) if b.kind != 'other']
        except SnippetError as e:
            errors.append(str(e))
    return blocks, errors


BLOCKS, PAGE_ERRORS = _collect()
PYTHON = [b for b in BLOCKS if b.kind == 'python']
COMMANDS = [b for b in BLOCKS if b.kind == 'commands']


def _signature(block: Block) -> tuple | None:
    """What the block runs (None when marked or when it breaks the convention)."""
    try:
        if block.needs:
            return None
        if block.kind == 'python':
            return (block.body.strip(),)
        return tuple(c.argv for c in commands(block))
    except SnippetError:
        return None


def covered_by(blocks: list[Block]) -> dict[str, str]:
    """Block id -> the id of a block that runs the same things first and then maybe more
    (running both would only repeat work)."""
    signatures = [(b, _signature(b)) for b in blocks]
    covered = {}
    for i, (block, mine) in enumerate(signatures):
        for j, (other, theirs) in enumerate(signatures):
            if mine is None or theirs is None or i == j or theirs[: len(mine)] != mine:
                continue
            if len(theirs) > len(mine) or j < i:
                covered[block.id] = other.id
                break
    return covered


def run_by_fixture(block: Block) -> bool:
    """Whether the session fixture after_make_demo runs everything the block runs: each
    command is one of its FIXTURE_COMMANDS or a ``make`` of targets the suite does not run."""
    found = _signature(block)
    if block.kind != 'commands' or not found:
        return False
    not_run = set(subs.MAKE_NOT_RUN)
    return any(argv in FIXTURE_COMMANDS for argv in found) and all(
        argv in FIXTURE_COMMANDS or (argv[0] == 'make' and set(argv[1:]) <= not_run)
        for argv in found
    )


COVERED = covered_by(BLOCKS)


def _trains(block: Block) -> bool:
    """Whether the block runs a training (tens of seconds each on 2 cores: marked slow)."""
    try:
        found = [] if block.needs else commands(block)
    except SnippetError:
        return False  # it fails at once
    for argv in (c.argv for c in found):
        script = argv[1] if len(argv) > 1 else ''
        if argv[0] == 'torchrun' or script == 'tools/dist_train.sh':
            return True
        if script in ('tools/train.py', 'tools/train_lightning.py') and '--help' not in argv:
            return True
        if argv[0] == 'make' and set(argv[1:]) - set(subs.MAKE_NOT_RUN):
            return True
    return False


def _params(blocks: list[Block]) -> list:
    slow = [pytest.mark.slow]
    return [pytest.param(b, id=b.id, marks=slow if _trains(b) else []) for b in blocks]


def _transfer_targets() -> str:
    """The make targets that need the transfer stack (their rule names its stamp)."""
    text = open(os.path.join(ROOT, 'Makefile')).read()
    return '|'.join(re.findall(r'^([\w-]+):[^=\n]*\$\(TRANSFER_STAMP\)', text, re.M)) or '$^'


def _needs_transfer(block: Block) -> bool:
    pattern = r'configs/(det|seg)/|\bmae_plugin\.(det|seg)\b|\bmm(det|seg)\b|'
    pattern += rf'\bmake ({_transfer_targets()})\b'
    return re.search(pattern, block.body) is not None


def skip_unless_runnable(block: Block) -> None:
    if block.needs:
        pytest.skip(f'needs: {block.needs}')
    if run_by_fixture(block):
        pytest.skip('the session fixture after_make_demo (tests/docs/conftest.py) runs it')
    if block.id in COVERED:
        pytest.skip(f'the same commands run in {COVERED[block.id]}')
    missing = [m for m in TRANSFER if importlib.util.find_spec(m) is None]
    if missing and _needs_transfer(block):
        pytest.skip(f'needs {", ".join(missing)}: `make install-transfer`')


def test_every_page_parses():
    assert not PAGE_ERRORS, '\n'.join(PAGE_ERRORS)
    assert BLOCKS, 'no python or command block found in README.md and docs/'


@pytest.mark.parametrize('block', BLOCKS, ids=[b.id for b in BLOCKS])
def test_block_follows_the_convention(block):
    """Marked ``# needs: <what>``, or every line a checked command or an allowed plain form
    that passes the checks needing no run (python: it compiles)."""
    if block.needs:
        return
    if block.kind == 'python':
        try:
            compile(block.body, block.id, 'exec')
        except SyntaxError as e:
            raise SnippetError(f'{block.path}:{block.line + (e.lineno or 0)}: {e.msg}') from e
    else:
        for command in commands(block):
            check(command)


@pytest.mark.parametrize('block', PYTHON, ids=[b.id for b in PYTHON])
def test_python_snippet_runs(block, tmp_path, request):
    skip_unless_runnable(block)
    template = request.getfixturevalue('after_make_demo')
    run_python(block, workspace(str(tmp_path / 'repo'), template))


@pytest.mark.parametrize('block', _params(COMMANDS))
def test_command_block_runs(block, tmp_path, request):
    skip_unless_runnable(block)
    template = request.getfixturevalue('after_make_demo')
    run_block(block, workspace(str(tmp_path / 'repo'), template))


def test_the_page_prints_the_substitutions():
    """docs/doc-tests.md shows every row of the table, every plain form and every make target
    not run."""
    page = open(os.path.join(ROOT, 'docs', 'doc-tests.md')).read()
    for row in subs.SUBSTITUTIONS:
        assert row.command in page and row.change in page, row.command
    for plain in PLAIN_FORMS:
        assert f'`{plain}' in page, plain
    for target, why in subs.MAKE_NOT_RUN.items():
        assert f'`make {target}`' in page and why in page, target
