"""Which documentation blocks tests/docs/test_snippets.py runs, and why it skips the others:
marked ones, ones the session fixture ``after_make_demo`` runs, ones another block covers, ones
needing the transfer stack where it is missing; and which of them train (marked slow)."""

import importlib.util
import os
import re

import pytest

from tests.docs import substitutions as subs
from tests.docs.runner import ROOT
from tests.docs.snippets import Block, SnippetError, commands

TRANSFER = ('mmcv', 'mmdet', 'mmseg')
# What the session fixture after_make_demo runs, as a page writes it: a block of only these
# (and make targets the suite does not run) is covered by the fixture (tests/docs/conftest.py).
FIXTURE_COMMANDS = (('make', 'demo'),)


def signature(block: Block) -> tuple | None:
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
    signatures = [(b, signature(b)) for b in blocks]
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
    found = signature(block)
    if block.kind != 'commands' or not found:
        return False
    not_run = set(subs.MAKE_NOT_RUN)
    return any(argv in FIXTURE_COMMANDS for argv in found) and all(
        argv in FIXTURE_COMMANDS or (argv[0] == 'make' and set(argv[1:]) <= not_run)
        for argv in found
    )


def trains(block: Block) -> bool:
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


def transfer_targets() -> str:
    """The make targets that need the transfer stack (their rule names its stamp)."""
    text = open(os.path.join(ROOT, 'Makefile')).read()
    return '|'.join(re.findall(r'^([\w-]+):[^=\n]*\$\(TRANSFER_STAMP\)', text, re.M)) or '$^'


def needs_transfer(block: Block) -> bool:
    pattern = r'configs/(det|seg)/|\bmae_plugin\.(det|seg)\b|\bmm(det|seg)\b|'
    pattern += rf'\bmake ({transfer_targets()})\b'
    return re.search(pattern, block.body) is not None


def skip_unless_runnable(block: Block, covered: dict[str, str] | None = None) -> None:
    """Skip, saying why, a block marked ``# needs:``, one the session fixture runs, one
    ``covered`` (by :func:`covered_by`) or one needing a transfer package that is missing."""
    covered = covered or {}
    if block.needs:
        pytest.skip(f'needs: {block.needs}')
    if run_by_fixture(block):
        pytest.skip('the session fixture after_make_demo (tests/docs/conftest.py) runs it')
    if block.id in covered:
        pytest.skip(f'the same commands run in {covered[block.id]}')
    missing = [m for m in TRANSFER if importlib.util.find_spec(m) is None]
    if missing and needs_transfer(block):
        pytest.skip(f'needs {", ".join(missing)}: `make install-transfer`')
