"""Documentation that cannot lie: every python block and every command block of README.md and
docs/**/*.md runs here on the demo data (docs/doc-tests.md: the convention, the substitutions),
unless its first line says what it needs (``# needs: <what>``)."""

import os

import pytest

from tests.docs import substitutions as subs
from tests.docs.runner import ROOT, check, run_block, run_python, workspace
from tests.docs.selection import covered_by, skip_unless_runnable, trains
from tests.docs.snippets import (
    PLAIN_FORMS,
    Block,
    SnippetError,
    commands,
    doc_pages,
    read_blocks,
)


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


COVERED = covered_by(BLOCKS)


def _params(blocks: list[Block]) -> list:
    slow = [pytest.mark.slow]
    return [pytest.param(b, id=b.id, marks=slow if trains(b) else []) for b in blocks]


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
    skip_unless_runnable(block, COVERED)
    template = request.getfixturevalue('after_make_demo')
    run_python(block, workspace(str(tmp_path / 'repo'), template))


@pytest.mark.parametrize('block', _params(COMMANDS))
def test_command_block_runs(block, tmp_path, request):
    skip_unless_runnable(block, COVERED)
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
