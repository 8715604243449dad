"""The layers of docs/architecture.md, checked on the sources: who may import whom.

Every ``import`` of every module (function-level ones included) is resolved; a third-party
package must be allowed for the layer (the standard library always is), and a package of the
plugin must lie in the same layer or one the layer may use. Every module under ``mae_plugin/``
has a rule (a root module such as ``apis.py`` is a layer of its own; ``__init__`` is the
package's ``__init__.py``), and none imports what lives beside the package (benchmarks,
reproduction, tools, tests): only the product is in it.
"""

import ast
import os
import sys

import pytest

from tests.helpers.paths import ROOT

PACKAGE = os.path.join(ROOT, 'mae_plugin')
ANY = None  # any third-party package except the ones in FORBIDDEN
# layer: (third-party packages allowed, plugin layers it may import)
RULES = {
    # atomic writes, below every layer (mae_plugin/fileio.py)
    'fileio': ({'torch'}, {'fileio'}),
    'models': ({'torch', 'timm', 'lightly', 'numpy'}, {'models', 'fileio'}),
    'data': (
        {'torch', 'torchvision', 'PIL', 'numpy', 'webdataset'},
        {'data', 'models', 'checkpoints', 'fileio'},
    ),
    'checkpoints': (
        {'torch', 'timm', 'numpy', 'safetensors'},
        {'checkpoints', 'models', 'fileio'},
    ),
    'analysis': ({'matplotlib', 'numpy'}, {'analysis', 'checkpoints', 'fileio'}),
    # runner-free monitoring (kNN probe, fixed images, reconstruction pictures) the runners call
    'monitor': (
        {'torch', 'timm', 'numpy', 'PIL', 'matplotlib'},
        {'monitor', 'data', 'models', 'fileio'},
    ),
    # runner-free training rules both runner adapters apply (non-finite policy, rank agreement)
    'training': ({'torch'}, {'training', 'fileio'}),
    'engine': (ANY, {'engine', 'training', 'monitor', 'data', 'models', 'checkpoints', 'fileio'}),
    'lightning': (
        ANY,
        {'lightning', 'training', 'monitor', 'data', 'models', 'checkpoints', 'fileio'},
    ),
    'det': (ANY, {'det', 'engine', 'training', 'data', 'models', 'checkpoints', 'fileio'}),
    'seg': (ANY, {'seg', 'engine', 'training', 'data', 'models', 'checkpoints', 'fileio'}),
    # the root modules: the Python API builds through the MMEngine adapter; `import mae_plugin`
    # registers the engine components
    'apis': (ANY, {'engine', 'training', 'data', 'models', 'checkpoints', 'fileio'}),
    'registry': (set(), {'engine'}),
    'version': (set(), set()),
    '__init__': (set(), {'engine', 'version'}),
}
# third-party packages a layer with ANY may still not import: the other runner's stack, and
# the transfer stacks outside their task adapter
FORBIDDEN = {
    'engine': {'mmdet', 'mmseg', 'lightning', 'pytorch_lightning'},
    'lightning': {'mmengine', 'mmdet', 'mmseg', 'mmcv'},
    'det': {'mmseg', 'lightning', 'pytorch_lightning'},
    'seg': {'mmdet', 'lightning', 'pytorch_lightning'},
    'apis': {'mmdet', 'mmseg', 'lightning', 'pytorch_lightning'},
}
# beside the package in the repository, never imported by it
OUTSIDE_THE_PRODUCT = {'benchmarks', 'reproduction', 'tools', 'tests'}


def imports(path: str, module: str) -> set[str]:
    """Absolute names of everything ``path`` (the module ``module``) imports."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')[: len(package.split('.')) - node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            if base == 'mae_plugin':  # `from . import engine` at the root imports mae_plugin.engine
                names.update(f'{base}.{alias.name}' for alias in node.names)
            else:
                names.add(base)
    return names


def modules(layer: str) -> list[tuple[str, str]]:
    """(path, dotted module name) of every source file of ``layer`` (a folder or one module)."""
    single = os.path.join(PACKAGE, layer + '.py')
    if os.path.isfile(single):
        return [(single, f'mae_plugin.{layer}'.removesuffix('.__init__'))]
    found = []
    for folder, _, files in os.walk(os.path.join(PACKAGE, layer)):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                rel = 'mae_plugin.' + os.path.relpath(path, PACKAGE)[:-3].replace(os.sep, '.')
                found.append((path, rel.removesuffix('.__init__')))
    return found


def wrong_imports(layer: str) -> list[str]:
    """``<module> imports <name>`` for each import of ``layer`` its rule does not allow."""
    allowed_packages, allowed_layers = RULES[layer]
    wrong = []
    for path, module in modules(layer):
        for name in imports(path, module):
            top = name.split('.')[0]
            if top == 'mae_plugin':
                target = name.split('.')[1] if '.' in name else '__init__'
                if target not in allowed_layers:
                    wrong.append(f'{module} imports {name}')
            elif top in OUTSIDE_THE_PRODUCT:
                wrong.append(f'{module} imports {name}, which is not part of the package')
            elif top in sys.stdlib_module_names or top == '__future__':
                continue
            elif (allowed_packages is ANY and top in FORBIDDEN.get(layer, ())) or (
                allowed_packages is not ANY and top not in allowed_packages
            ):
                wrong.append(f'{module} imports {name}')
    return wrong


@pytest.mark.parametrize('layer', sorted(RULES))
def test_layer_imports_only_what_it_may(layer):
    if not modules(layer):
        pytest.skip(f'mae_plugin/{layer} does not exist yet')
    wrong = wrong_imports(layer)
    assert not wrong, '\n'.join(wrong)


def test_the_check_sees_relative_imports():
    path = os.path.join(PACKAGE, 'engine', 'pretrain', 'model.py')
    found = imports(path, 'mae_plugin.engine.pretrain.model')
    assert {'mae_plugin.checkpoints', 'mae_plugin.engine.registry', 'mmengine.model'} <= found


def layer_of(path: str) -> str:
    """The layer of a source file under mae_plugin/: its folder there, or its module name."""
    return os.path.relpath(path, PACKAGE).split(os.sep)[0].removesuffix('.py')


def uncovered_modules() -> list[str]:
    """Source files under mae_plugin/ whose layer has no rule."""
    sources = [
        os.path.join(folder, name)
        for folder, _, files in os.walk(PACKAGE)
        for name in files
        if name.endswith('.py')
    ]
    return sorted(os.path.relpath(p, PACKAGE) for p in sources if layer_of(p) not in RULES)


def test_every_module_of_the_package_has_a_rule():
    assert not uncovered_modules(), f'no rule in RULES covers: {uncovered_modules()}'


def test_the_check_sees_the_root_modules():
    assert layer_of(os.path.join(PACKAGE, 'apis.py')) == 'apis'
    assert [m for _, m in modules('__init__')] == ['mae_plugin']
    found = imports(os.path.join(PACKAGE, '__init__.py'), 'mae_plugin')
    assert {'mae_plugin.engine', 'mae_plugin.version'} <= found  # `from . import engine`


def test_the_check_refuses_an_unruled_module_and_an_import_from_beside_the_package(
    tmp_path, monkeypatch
):
    """On a made-up package: a root module no rule names, layers importing from beside it."""
    (tmp_path / 'models').mkdir()
    (tmp_path / 'models' / 'mae.py').write_text('import torch\nfrom benchmarks import peers\n')
    (tmp_path / 'engine').mkdir()  # a layer that may import any third-party package
    (tmp_path / 'engine' / 'hook.py').write_text('from tests.conftest import ROOT\n')
    (tmp_path / 'demo_data.py').write_text('import numpy\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', str(tmp_path))
    assert uncovered_modules() == ['demo_data.py']
    assert wrong_imports('models') == [
        'mae_plugin.models.mae imports benchmarks, which is not part of the package'
    ]
    assert wrong_imports('engine') == [
        'mae_plugin.engine.hook imports tests.conftest, which is not part of the package'
    ]
