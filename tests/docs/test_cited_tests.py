"""Every test the README and the documentation cite exists: a page that points a reader at
``tests/...py::test_name`` as the proof of a guarantee must not point at nothing."""

import ast
import os
import re
from functools import cache

from tests.docs.snippets import doc_pages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# a path, optionally with ::names; a bare `::name` later on the line belongs to the last path
CITED = re.compile(r'(tests/[\w/]+\.py)|::(\w+)')


@cache
def names_in(path: str) -> frozenset[str]:
    """Functions and classes defined anywhere in the test file ``path``."""
    with open(os.path.join(ROOT, path)) as f:
        tree = ast.parse(f.read())
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, kinds))


def stale_citations(text: str, where: str) -> list[str]:
    """``where:line`` of each cited test file or test name that does not exist."""
    stale = []
    for number, line in enumerate(text.splitlines(), 1):
        path = None
        for match in CITED.finditer(line):
            if match.group(1):
                path = match.group(1)
                if not os.path.isfile(os.path.join(ROOT, path)):
                    stale.append(f'{where}:{number}: {path} does not exist')
                    path = None
            elif path is not None and match.group(2) not in names_in(path):
                stale.append(f'{where}:{number}: {path}::{match.group(2)} does not exist')
    return stale


def test_every_cited_test_exists():
    stale = []
    for page in doc_pages(ROOT):
        with open(page) as f:
            stale += stale_citations(f.read(), os.path.relpath(page, ROOT))
    assert not stale, 'cited tests that do not exist:\n' + '\n'.join(stale)


def test_a_stale_citation_is_found():
    text = (
        'see `tests/test_layers.py::test_no_such_test`, `tests/no_such_file.py` and\n'
        '`tests/test_layers.py` (`::test_every_module_of_the_package_has_a_rule`, `::nope`)'
    )
    assert stale_citations(text, 'page.md') == [
        'page.md:1: tests/test_layers.py::test_no_such_test does not exist',
        'page.md:1: tests/no_such_file.py does not exist',
        'page.md:2: tests/test_layers.py::nope does not exist',
    ]
