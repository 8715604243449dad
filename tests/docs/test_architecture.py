"""docs/architecture.md against the code, so that the map cannot go stale.

The package tree names every module of ``mae_plugin/`` once and nothing else; every ``.py`` file
the page names exists; the layer table says what the rules of ``tests/test_layers.py`` say
(read from its source: no test module imports another); the component table lists exactly what
the registries hold, in the files that define it.
"""

import ast
import collections
import importlib
import os
import re

import pytest
from mmengine.registry import Registry

from mae_plugin.engine import registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'mae_plugin')
PAGE = os.path.join(ROOT, 'docs', 'architecture.md')
# what the checkout holds beside its files (the built site, runs, the demo data)
UNTRACKED = {'site', 'work_dirs', 'data'}


def page() -> str:
    with open(PAGE, encoding='utf-8') as f:
        return f.read()


def section(title: str, text: str | None = None) -> str:
    """The text under ``## title`` up to the next ``## `` heading."""
    text = page() if text is None else text
    match = re.search(rf'^## {re.escape(title)}\n(.*?)(?=^## |\Z)', text, re.M | re.S)
    assert match, f'docs/architecture.md has no section "## {title}"'
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """Cells of the first Markdown table of ``text``, header and separator left out."""
    lines = [line for line in text.splitlines() if line.startswith('|')]
    return [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[2:]]


def spans(cell: str) -> list[str]:
    return re.findall(r'`([^`]+)`', cell)


def tree_paths(text: str) -> list[str]:
    """Module paths (relative to mae_plugin/) of the first ``text`` block: two spaces a level."""
    block = re.search(r'```text\n(.*?)```', text, re.S)
    assert block, 'the package tree is missing (a ```text block)'
    folders: list[str] = []
    paths = []
    for line in block.group(1).splitlines():
        name = line.split()[0]
        depth, odd = divmod(len(line) - len(line.lstrip(' ')), 2)
        assert not odd and depth <= len(folders), f'tree line indented wrongly: {line!r}'
        del folders[depth:]
        if name.endswith('/'):
            folders.append(name[:-1])
        else:
            assert name.endswith('.py'), f'tree line names no module or folder: {line!r}'
            paths.append('/'.join(folders[1:] + [name]))
    return paths


def package_modules() -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), PACKAGE).replace(os.sep, '/')
        for folder, dirs, files in os.walk(PACKAGE)
        if '__pycache__' not in folder
        for name in files
        if name.endswith('.py')
    }


def test_the_tree_names_every_module_of_the_package_once():
    named = tree_paths(section('The package, file by file'))
    twice = sorted(p for p, n in collections.Counter(named).items() if n > 1)
    missing = sorted(package_modules() - set(named))
    stale = sorted(set(named) - package_modules())
    assert not (twice or missing or stale), (
        f'docs/architecture.md tree: named twice {twice}; missing {missing}; no such module {stale}'
    )


def repository_files() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(('.', '__'))
            and not (folder == ROOT and d in UNTRACKED)
            and not d.endswith('.egg-info')
        ]
        found += ['/' + os.path.relpath(os.path.join(folder, f), ROOT) for f in files]
    return found


def test_every_file_the_page_names_exists():
    """A name may be a path from any folder (``hooks/knn.py``, ``tools/train.py``); patterns
    (``mae_vit-{b,l}_800e.py``, ``formats/<name>.py``) are left out."""
    files = repository_files()
    named = set(re.findall(r'[\w./-]*\w\.py\b', re.sub(r'\S*[{<*]\S*', ' ', page())))
    absent = sorted(n for n in named if not any(f.endswith('/' + n) for f in files))
    assert not absent, f'docs/architecture.md names files that do not exist: {absent}'


def layer_rules() -> tuple[dict, dict]:
    """RULES and FORBIDDEN of tests/test_layers.py, read from its source (ANY is None)."""
    with open(os.path.join(ROOT, 'tests', 'test_layers.py'), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ('RULES', 'FORBIDDEN'):
            expression = ast.parse(ast.unparse(node.value).replace('ANY', 'None'), mode='eval')
            values[node.targets[0].id] = ast.literal_eval(expression.body)
    return values['RULES'], values['FORBIDDEN']


def test_the_layer_table_is_the_rules_of_test_layers():
    rules, forbidden = layer_rules()
    table = {
        spans(row[0])[0].removesuffix('/').removesuffix('.py'): row
        for row in table_rows(section('Layers'))
    }
    assert sorted(table) == sorted(rules), 'the layer table has a row per rule of test_layers.py'
    wrong = []
    for layer, (packages, layers) in rules.items():
        _, third_party, plugin = table[layer]
        if packages is None:
            said_packages = third_party.startswith('any but') and set(spans(third_party))
            packages = forbidden.get(layer, set())
        else:
            said_packages = set(spans(third_party))
        if said_packages != packages or set(spans(plugin)) != layers - {layer}:
            wrong.append(f'{layer}: rules say {sorted(packages)} and {sorted(layers - {layer})}')
    assert not wrong, 'docs/architecture.md layer table differs:\n' + '\n'.join(wrong)


def registered() -> list[tuple[str, str, str]]:
    """(registry, name, defining module) of everything the plugin registers, transfers too."""
    for stack, adapter in (('mmdet', 'mae_plugin.det'), ('mmseg', 'mae_plugin.seg')):
        pytest.importorskip(stack)
        importlib.import_module(adapter)  # registers the transfer components
    return [
        (attribute, name, getattr(obj, '__module__', ''))
        for attribute, value in vars(registry).items()
        if isinstance(value, Registry)
        for name, obj in value.module_dict.items()
    ]


def test_the_component_table_is_what_the_registries_hold():
    rows = {}
    for names, registry_name, files in table_rows(section('Registered components')):
        for name in spans(names):
            assert name not in rows, f'{name} is in two rows'
            rows[name] = (registry_name, spans(files))
    wrong = []
    # hooks that tests register for themselves are in the registry once their test has run in
    # this worker; they are not the product's
    held = [entry for entry in registered() if not entry[2].startswith('tests.')]
    for registry_name, name, module in held:
        path = module.removeprefix('mae_plugin.').replace('.', '/') + '.py'
        if name not in rows:
            wrong.append(f'{name} ({registry_name}, {path}) has no row')
        elif rows[name][0] != registry_name:
            wrong.append(f'{name} is in {registry_name}, the table says {rows[name][0]}')
        elif module.startswith('mae_plugin.') and path not in rows[name][1]:
            wrong.append(f'{name} is defined in {path}, the table says {rows[name][1]}')
    wrong += [f'{n} is not registered' for n in sorted(set(rows) - {n for _, n, _ in held})]
    assert not wrong, 'docs/architecture.md component table:\n' + '\n'.join(wrong)
