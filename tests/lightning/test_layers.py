"""mae_plugin/lightning/ is a runner adapter beside engine/: it never imports engine/ or
MMEngine."""

import ast
import os

from tests.helpers import processes
from tests.helpers.paths import ROOT

PACKAGE = os.path.join(ROOT, 'mae_plugin', 'lightning')

# Loads the mae_plugin package without running its __init__ (which registers the MMEngine
# components), refuses any import of mmengine or mae_plugin.engine, imports every module of
# mae_plugin.lightning and prints what got imported.
PROBE = r"""
import importlib, importlib.abc, importlib.util, pkgutil, sys, types
root = sys.argv[1]

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'mmengine' or name.startswith('mae_plugin.engine'):
            raise ImportError(f'{name} imported while importing mae_plugin.lightning')
        return None

sys.meta_path.insert(0, Refuse())
package = types.ModuleType('mae_plugin')
package.__path__ = [root + '/mae_plugin']
sys.modules['mae_plugin'] = package
import mae_plugin.lightning
for info in pkgutil.walk_packages(mae_plugin.lightning.__path__, 'mae_plugin.lightning.'):
    importlib.import_module(info.name)
print(sorted(m for m in sys.modules if m.startswith('mae_plugin')))
"""


def test_lightning_adapter_never_imports_engine_or_mmengine():
    proc = processes.python('-c', PROBE, ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = eval(proc.stdout.strip().splitlines()[-1])  # a list of names we printed
    assert 'mae_plugin.lightning.cli' in imported and 'mae_plugin.models.mae' in imported
    assert not [m for m in imported if m.startswith('mae_plugin.engine')]


def test_no_module_of_the_adapter_names_engine_or_mmengine():
    """The same rule read off the source, so a lazy import inside a function is caught too."""
    offenders = []
    for name in sorted(os.listdir(PACKAGE)):
        if not name.endswith('.py'):
            continue
        tree = ast.parse(open(os.path.join(PACKAGE, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                prefix = '.' * node.level
                targets = [prefix + (node.module or '')]
            else:
                continue
            offenders += [
                f'{name}: {t}'
                for t in targets
                if t.split('.')[0] == 'mmengine'
                or t.startswith('mae_plugin.engine')
                or t.lstrip('.').startswith('engine')
                and t.startswith('..')
            ]
    assert offenders == []
