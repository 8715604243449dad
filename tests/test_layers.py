"""The layers of docs/architecture.md, checked on the sources: who may import whom.

Every ``import`` of every module (function-level ones included) is resolved; a third-party
package must be allowed for the layer (the standard library always is), and a package of the
plugin must lie in the same layer or one the layer may use.
"""

import ast
import os
import sys

import pytest

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, 'mae_plugin')
ANY = None  # any third-party package except the ones in FORBIDDEN
# layer: (third-party packages allowed, plugin layers it may import)
RULES = {
    'models': ({'torch', 'timm', 'lightly', 'numpy'}, {'models'}),
    'data': (
        {'torch', 'torchvision', 'PIL', 'numpy', 'webdataset'},
        {'data', 'models', 'checkpoints'},
    ),
    'checkpoints': ({'torch', 'timm', 'numpy', 'safetensors'}, {'checkpoints', 'models'}),
    'analysis': ({'matplotlib', 'numpy'}, {'analysis', 'checkpoints'}),
    # runner-free training rules both runner adapters apply (non-finite policy, rank agreement)
    'training': ({'torch'}, {'training'}),
    'engine': (ANY, {'engine', 'training', 'data', 'models', 'checkpoints'}),
    'lightning': (ANY, {'lightning', 'training', 'data', 'models', 'checkpoints'}),
    'det': (ANY, {'det', 'engine', 'training', 'data', 'models', 'checkpoints'}),
    'seg': (ANY, {'seg', 'engine', 'training', 'data', 'models', 'checkpoints'}),
}
# third-party packages a layer with ANY may still not import: the other runner's stack, and
# the transfer stacks outside their task adapter
FORBIDDEN = {
    'engine': {'mmdet', 'mmseg', 'lightning', 'pytorch_lightning'},
    'lightning': {'mmengine', 'mmdet', 'mmseg', 'mmcv'},
    'det': {'mmseg', 'lightning', 'pytorch_lightning'},
    'seg': {'mmdet', 'lightning', 'pytorch_lightning'},
}


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
                names.add('.'.join(parts + ([node.module] if node.module else [])))
            else:
                names.add(node.module)
    return names


def modules(layer: str) -> list[tuple[str, str]]:
    """(path, dotted module name) of every source file of ``layer``."""
    found = []
    for folder, _, files in os.walk(os.path.join(PACKAGE, layer)):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                found.append((path, rel.removesuffix('.__init__')))
    return found


@pytest.mark.parametrize('layer', sorted(RULES))
def test_layer_imports_only_what_it_may(layer):
    if not os.path.isdir(os.path.join(PACKAGE, layer)):
        pytest.skip(f'mae_plugin/{layer} does not exist yet')
    allowed_packages, allowed_layers = RULES[layer]
    wrong = []
    for path, module in modules(layer):
        for name in imports(path, module):
            top = name.split('.')[0]
            if top == 'mae_plugin':
                target = name.split('.')[1] if '.' in name else '(package)'
                if target not in allowed_layers:
                    wrong.append(f'{module} imports {name}')
            elif top in sys.stdlib_module_names or top == '__future__':
                continue
            elif (allowed_packages is ANY and top in FORBIDDEN.get(layer, ())) or (
                allowed_packages is not ANY and top not in allowed_packages
            ):
                wrong.append(f'{module} imports {name}')
    assert not wrong, '\n'.join(wrong)


def test_the_check_sees_relative_imports():
    path = os.path.join(PACKAGE, 'engine', 'pretrain', 'model.py')
    found = imports(path, 'mae_plugin.engine.pretrain.model')
    assert {'mae_plugin.checkpoints', 'mae_plugin.engine.registry', 'mmengine.model'} <= found
