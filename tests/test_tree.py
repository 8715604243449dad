"""The test tree's shape (issue 21): a test module is never a library.

Shared helpers live in ``tests/helpers/`` (and the docs machinery beside its tests in
``tests/docs/``); a ``test_*.py`` or ``conftest.py`` imported by another module would run its
tests or fixtures twice, or hide a helper where nobody looks for one.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from tests.helpers.paths import ROOT

TESTS = Path(ROOT) / 'tests'


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of every absolute import; ``from a import b`` gives ``a`` and ``a.b``
    (``b`` may be a module)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f'{node.module}.{alias.name}') for alias in node.names]
    return found


def module_file(name: str, root: Path) -> Path | None:
    """The file of the dotted module ``name`` under ``root`` (a package's ``__init__.py``)."""
    path = root.joinpath(*name.split('.'))
    for candidate in (path.with_suffix('.py'), path / '__init__.py'):
        if candidate.is_file():
            return candidate
    return None


def is_test_module(path: Path) -> bool:
    return path.name.startswith('test_') or path.name == 'conftest.py'


def imports_of_test_modules(tests: Path = TESTS) -> list[str]:
    """``importer:line imports module`` for each import of a test module or conftest."""
    problems = []
    for path in sorted(tests.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
        for line, name in imported_modules(tree):
            if not name.startswith(f'{tests.name}.'):
                continue
            target = module_file(name, tests.parent)
            if target is not None and is_test_module(target):
                where = os.path.relpath(path, tests.parent)
                problems.append(f'{where}:{line} imports {name}')
    return sorted(set(problems))


def test_no_test_module_is_imported_by_another():
    problems = imports_of_test_modules()
    assert not problems, 'move what they share to tests/helpers/:\n' + '\n'.join(problems)


def test_the_scan_finds_a_test_module_imported_as_a_library(tmp_path):
    tests = tmp_path / 'tests'
    (tests / 'engine').mkdir(parents=True)
    (tests / 'engine' / 'test_data.py').write_text('PIPELINE = []\n')
    (tests / 'engine' / 'conftest.py').write_text('')
    (tests / 'engine' / 'helpers.py').write_text('X = 1\n')
    (tests / 'data').mkdir()
    (tests / 'data' / 'test_layer.py').write_text(
        'import os\n'
        'from tests.engine.test_data import PIPELINE\n'
        'from tests.engine import conftest, helpers\n'
        'import tests.engine.helpers\n'
    )
    assert imports_of_test_modules(tests) == [
        'tests/data/test_layer.py:2 imports tests.engine.test_data',
        'tests/data/test_layer.py:3 imports tests.engine.conftest',
    ]
