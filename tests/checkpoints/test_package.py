"""The line the package's docstring draws, checked on the sources: containers at the bottom,
then the key vocabulary, the formats, detection, resampling, and loading/converting on top.
Imports point down the line only, so no import cycle is possible, and none hides in a
function."""

import ast
import os

from tests.helpers.checkpoints import CHECKPOINTS

# rank of each module (path without .py, relative to mae_plugin/checkpoints): a module may
# import modules of its own rank or below, never above
RANKS = {
    'containers/': 0,
    'core': 1,
    'model_meta': 1,
    'hf_config': 1,
    'formats/': 2,
    'detect': 3,
    'resample': 4,
    'shapes': 4,
    'load': 5,
    'write': 5,
    'convert': 6,
    '__init__': 7,
}


def rank(module: str) -> int:
    if module.endswith('/__init__') and module != '__init__':
        module = module.rsplit('/', 1)[0] + '/'
    for prefix, value in RANKS.items():
        if module == prefix or (prefix.endswith('/') and module.startswith(prefix)):
            return value
    raise AssertionError(f'{module}.py has no place in the line: give it a rank in RANKS')


def sources() -> dict[str, ast.Module]:
    found = {}
    for folder, _, files in os.walk(CHECKPOINTS):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                module = os.path.relpath(path, CHECKPOINTS)[: -len('.py')].replace(os.sep, '/')
                with open(path, encoding='utf-8') as f:
                    found[module] = ast.parse(f.read())
    return found


def imported(module: str, tree: ast.Module) -> set[str]:
    """Modules of the package that ``module`` imports (``formats/__init__`` for ``formats``)."""
    package = module.split('/')[:-1]  # the folder of the module (of an __init__: its own)
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue  # absolute imports: other packages (the layer test checks those)
        if node.level - 1 > len(package):
            continue  # above the package (mae_plugin.fileio): below every layer
        base = package[: len(package) - node.level + 1] + (
            node.module.split('.') if node.module else []
        )
        for alias in node.names:
            for candidate in ('/'.join(base + [alias.name]), '/'.join(base)):
                for name in (candidate, candidate + '/__init__'):
                    if name in MODULES:
                        found.add(name)
                        break
                else:
                    continue
                break
    return found


MODULES = sources()


def test_every_import_in_the_package_points_down_the_line():
    wrong = [
        f'{module}.py imports {target}.py'
        for module, tree in MODULES.items()
        for target in imported(module, tree)
        if rank(target) > rank(module)
    ]
    assert not wrong, '\n'.join(wrong)


def test_no_import_hides_in_a_function():
    hidden = [
        f'{module}.py:{node.lineno}'
        for module, tree in MODULES.items()
        for func in ast.walk(tree)
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(func)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert not hidden, hidden


def test_the_imports_have_no_cycle():
    graph = {module: imported(module, tree) for module, tree in MODULES.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, ' -> '.join(path + (module,))
        if module not in done:
            for target in sorted(graph[module]):
                visit(target, path + (module,))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())
