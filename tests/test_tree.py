"""The test tree's shape (issue 21): the tests of a module are found from its path, and a test
module is never a library.

Unit tests mirror the code: ``tests/<package path>/test_<module>.py`` tests
``mae_plugin/<package path>/<module>.py`` (``tests/tools/`` and ``tests/benchmarks/`` mirror
``tools/`` and ``benchmarks/``); runs of whole journeys are in ``tests/e2e/``, the configs'
recipe pins in ``tests/recipes/``. Shared helpers live in ``tests/helpers/`` (and the docs
machinery beside its tests in ``tests/docs/``); a ``test_*.py`` or ``conftest.py`` imported by
another module would run its tests or fixtures twice, or hide a helper where nobody looks for one.
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


# folders of tests/ that test no single module
NOT_MIRRORS = {
    'e2e': 'journeys through the tools and runners',
    'recipes': "the configs' pinned numbers",
    'docs': 'the pages and their snippets',
    'gpu': 'the device checks tools/gpu_check.py runs',
    'helpers': 'no tests',
}
# test files of no module of their own, and why
RULE_TESTS = {
    'test_layers.py': 'the import rules of the whole package',
    'test_tree.py': "this page's rules for tests/",
    'test_order.py': "tests/order.py, the suite's own order",
    'test_packaging.py': 'the wheel built from pyproject.toml',
    'test_configs.py': 'every config builds (configs/ is no module)',
    'checkpoints/test_package.py': 'the import order inside mae_plugin/checkpoints/',
    'lightning/test_layers.py': 'what mae_plugin/lightning/ may import',
}


def unmirrored(tests: Path = TESTS, root: Path = Path(ROOT)) -> list[str]:
    """The ``test_*.py`` files outside NOT_MIRRORS and RULE_TESTS whose path names no module."""
    problems = []
    for path in sorted(tests.rglob('test_*.py')):
        relative = path.relative_to(tests)
        if relative.parts[0] in NOT_MIRRORS or relative.as_posix() in RULE_TESTS:
            continue
        folder = relative.parent
        code = (
            root / folder
            if folder.parts[:1] in (('tools',), ('benchmarks',))
            else (root / 'mae_plugin' / folder)
        )
        name = path.stem.removeprefix('test_')
        if not ((code / f'{name}.py').is_file() or (code / name / '__init__.py').is_file()):
            problems.append(
                f'{tests.name}/{relative.as_posix()}: no {code.relative_to(root)}/{name}.py'
            )
    return problems


def test_unit_tests_mirror_the_code():
    problems = unmirrored()
    assert not problems, (
        'name a test file after the module it tests (a journey goes to tests/e2e/):\n'
        + '\n'.join(problems)
    )


def test_the_mirror_check_finds_a_test_file_named_after_no_module(tmp_path):
    (tmp_path / 'mae_plugin' / 'data').mkdir(parents=True)
    (tmp_path / 'mae_plugin' / 'data' / 'transforms.py').write_text('')
    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'train.py').write_text('')
    tests = tmp_path / 'tests'
    for name in (
        'data/test_transforms.py',
        'data/test_data_layer.py',
        'tools/test_train.py',
        'tools/test_bit_depth_tools.py',
        'e2e/test_pretrain.py',
        'test_layers.py',
    ):
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text('')
    assert unmirrored(tests, tmp_path) == [
        'tests/data/test_data_layer.py: no mae_plugin/data/data_layer.py',
        'tests/tools/test_bit_depth_tools.py: no tools/bit_depth_tools.py',
    ]


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
