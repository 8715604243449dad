"""The snippets of README.md and docs/**/*.md: fenced blocks with their file and line, and the
commands of the command blocks (docs/doc-tests.md states the convention this module reads)."""

import glob
import os
import re
import shlex
from dataclasses import dataclass

PYTHON_LANGS = ('python', 'py')
COMMAND_LANGS = ('bash', 'sh', 'shell', 'console')
# the commands the suite runs (with the substitutions of substitutions.py)
CHECKED_PREFIXES = (('python', 'tools/'), ('torchrun', ''), ('bash', 'tools/'), ('make', ''))
# the plain shell forms a command block may hold besides them, and what the suite does with each
PLAIN_FORMS = {
    'export': "run: NAME=VALUE joins the environment of the block's next commands",
    'ls': 'run as written (fails when a path it names is missing)',
    'cat': 'run as written (fails when a path it names is missing)',
    'pip install': 'not run (the suite runs inside the installed venv); installs of this '
    'project only (`.`, `-e .`, `".[extra,...]"`), each extra must exist in pyproject.toml',
    'source .venv/bin/activate': 'not run (every command runs with .venv/bin first on PATH)',
    'git clone': 'not run (the suite runs in a folder shaped like the clone)',
    'cd': 'not run; only right after `git clone` (every command runs from the repository root)',
}
SHELL_OPERATORS = {'|', '||', '&', '&&', ';', '>', '>>', '<', '(', ')', '<<', '>&', '2>'}
FENCE = re.compile(r'^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*\{?\.?(?P<lang>[\w+-]*)')
NEEDS = re.compile(r'^#\s*needs:(?P<what>.*)$')


class SnippetError(AssertionError):
    """A page breaks the snippet convention; the message names file:line."""


@dataclass(frozen=True)
class Command:
    """One command of a command block: continuation lines joined, comments dropped."""

    where: str  # file:line of its first line
    argv: tuple[str, ...]

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class Block:
    """A fenced block: ``path`` relative to the repository root, ``line`` of the opening fence
    (1-based), the language tag and the body without the fence's indent."""

    path: str
    line: int
    lang: str
    body: str

    @property
    def id(self) -> str:
        return f'{self.path}:{self.line}'

    @property
    def kind(self) -> str:
        """'python', 'commands' or 'other' (other languages are not run)."""
        if self.lang in PYTHON_LANGS:
            return 'python'
        return 'commands' if self.lang in COMMAND_LANGS else 'other'

    @property
    def needs(self) -> str | None:
        """What the block needs, from its first line ``# needs: <what>``; None when unmarked.
        A ``# needs:`` that names nothing is an error."""
        first = next((line.strip() for line in self.body.splitlines() if line.strip()), '')
        match = NEEDS.match(first)
        if match is None:
            return None
        what = match.group('what').strip()
        if not what:
            raise SnippetError(f'{self.path}:{self.line + 1}: `# needs:` names nothing')
        return what


def read_blocks(path: str, root: str) -> list[Block]:
    """Every fenced block of the markdown file ``path`` (a closing fence repeats the opening
    one's character, at least as many times; an unclosed fence is an error)."""
    rel = os.path.relpath(path, root)
    lines = open(path, encoding='utf-8').read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening.group('fence'), len(opening.group('indent'))
        end = i + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        if end == len(lines):
            raise SnippetError(f'{rel}:{i + 1}: fence {fence} never closed')
        body = '\n'.join(_dedent(line, indent) for line in lines[i + 1 : end])
        blocks.append(Block(rel, i + 1, opening.group('lang').lower(), body))
        i = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}


def _dedent(line: str, indent: int) -> str:
    return line[indent:] if line[:indent].strip() == '' else line.lstrip()


def doc_pages(root: str) -> list[str]:
    """README.md and docs/**/*.md, sorted: the pages whose snippets must run."""
    pages = [os.path.join(root, 'README.md')]
    pages += sorted(glob.glob(os.path.join(root, 'docs', '**', '*.md'), recursive=True))
    return [page for page in pages if os.path.isfile(page)]


def collect(root: str) -> list[Block]:
    """The python and command blocks of every page."""
    blocks = [b for page in doc_pages(root) for b in read_blocks(page, root)]
    return [b for b in blocks if b.kind != 'other']


def commands(block: Block) -> list[Command]:
    """The commands of an unmarked command block; a line that is neither a checked command nor
    an allowed plain form, or that the shell rules below cannot split, is an error."""
    found, start, pending = [], 0, ''
    for number, line in enumerate(block.body.splitlines(), block.line + 1):
        if not pending:
            start = number
            if line.strip().startswith('#') or not line.strip():
                continue
        if line.rstrip().endswith('\\'):
            pending += line.rstrip()[:-1] + ' '
            continue
        found.append(_command(f'{block.path}:{start}', pending + line))
        pending = ''
    if pending:
        raise SnippetError(f'{block.path}:{start}: the block ends inside a `\\` continuation')
    _check_cd(found)
    return found


def _command(where: str, text: str) -> Command:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        argv = tuple(lexer)
    except ValueError as e:
        raise SnippetError(f'{where}: `{text.strip()}` cannot be split ({e})') from e
    operators = SHELL_OPERATORS.intersection(argv)
    if operators:
        raise SnippetError(
            f'{where}: `{text.strip()}` uses {sorted(operators)}: one command a line, no shell '
            'operators (mark the block `# needs: <what>` or split it)'
        )
    command = Command(where, argv)
    if form(command) is None:
        raise SnippetError(
            f'{where}: `{text.strip()}` is neither a checked command (python tools/..., torchrun, '
            'bash tools/..., make ...) nor an allowed plain form (docs/doc-tests.md): mark the '
            'block `# needs: <what>` or make it a checked command'
        )
    return command


def form(command: Command) -> str | None:
    """'checked', the PLAIN_FORMS key the command matches, or None."""
    argv = command.argv
    for program, prefix in CHECKED_PREFIXES:
        if argv[0] == program and (not prefix or (len(argv) > 1 and argv[1].startswith(prefix))):
            return 'checked'
    if argv[:2] == ('pip', 'install') or argv[:4] == ('python', '-m', 'pip', 'install'):
        return 'pip install'
    if argv[:2] == ('git', 'clone'):
        return 'git clone'
    if ' '.join(argv) == 'source .venv/bin/activate':
        return 'source .venv/bin/activate'
    if argv[0] == 'export':
        ok = len(argv) > 1 and all(re.match(r'^[A-Za-z_]\w*=', a) for a in argv[1:])
        return 'export' if ok else None
    return argv[0] if argv[0] in ('ls', 'cat', 'cd') else None


def _check_cd(found: list[Command]) -> None:
    for before, command in zip([None, *found], found, strict=False):
        if form(command) == 'cd' and (before is None or form(before) != 'git clone'):
            raise SnippetError(
                f'{command.where}: `{command.text}`: snippets run from the repository root; '
                '`cd` only follows `git clone`'
            )
