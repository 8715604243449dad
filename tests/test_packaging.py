"""The package installs as a package: the wheel built from pyproject.toml holds ``mae_plugin``
only, its metadata is pyproject's, and the installed copy imports and runs a tool from a folder
outside the repository (issue 20)."""

import ast
import email
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.checkpoints import save_plugin_checkpoint
from tests.helpers.models import tiny_mae

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip('tomli', reason='reading pyproject.toml needs tomli on 3.10')
requirements = pytest.importorskip('packaging.requirements')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ignored, not source: the build runs on a copy without them, so the shared tree gets no build/
# folder and a stale build/lib (deleted modules) cannot leak into the wheel.
TOP_LEVEL_NOT_SOURCE = {'.git', '.venv', '.wheels', 'work_dirs', 'data', 'build', 'dist', 'site'}
CACHES = {'__pycache__', '.pytest_cache', '.ruff_cache', '.mypy_cache'}


def _not_source(folder: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ignore: the top-level names above (only there: mae_plugin/data is
    source) and caches and egg-info anywhere."""
    top = TOP_LEVEL_NOT_SOURCE if os.path.samefile(folder, ROOT) else set()
    return {n for n in names if n in top | CACHES or n.endswith('.egg-info')}


def _pyproject() -> dict:
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        return tomllib.load(f)


def _pyproject_version() -> str:
    """The version pyproject points at (``attr``), read as setuptools does: a literal in a file."""
    attr = _pyproject()['tool']['setuptools']['dynamic']['version']['attr']
    module, name = attr.rsplit('.', 1)
    with open(os.path.join(ROOT, *module.split('.')) + '.py') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        targets = [getattr(t, 'id', None) for t in getattr(node, 'targets', [])]
        if isinstance(node, ast.Assign) and targets == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f'{attr}: no literal assignment of {name}')


def _requires(project: dict) -> set[str]:
    """pyproject's dependencies and extras, as Requires-Dist lines normalised by ``packaging``."""
    lines = list(project['dependencies'])
    for extra, deps in project['optional-dependencies'].items():
        lines += [f'{dep}; extra == "{extra}"' for dep in deps]
    return {str(requirements.Requirement(line)) for line in lines}


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(wheel, DIR): the wheel built from a copy of the repository, installed into DIR alone."""
    tmp = tmp_path_factory.mktemp('packaging')
    src, wheels, target = tmp / 'src', tmp / 'wheels', tmp / 'site'
    shutil.copytree(ROOT, src, ignore=_not_source)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    build = [*pip, 'wheel', '--no-deps', '--no-build-isolation', '-w', str(wheels), str(src)]
    subprocess.run(build, check=True, cwd=tmp, timeout=300)
    (wheel,) = wheels.iterdir()
    install = [*pip, 'install', '--no-deps', '--no-compile', '--target', str(target), str(wheel)]
    subprocess.run(install, check=True, cwd=tmp, timeout=300)
    return wheel, target


def test_the_wheel_holds_the_package_and_the_metadata_of_pyproject(installed):
    wheel, _ = installed
    project = _pyproject()['project']
    version = _pyproject_version()
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = f'{project["name"]}-{version}.dist-info'
        metadata = email.message_from_bytes(zf.read(f'{dist_info}/METADATA'))
    assert {name.split('/')[0] for name in names} == {'mae_plugin', dist_info}
    assert 'mae_plugin/det/backbone.py' in names  # subpackages too
    assert metadata['Name'] == project['name']
    assert metadata['Version'] == version
    assert metadata['Requires-Python'] == project['requires-python']
    assert set(metadata.get_all('Provides-Extra')) == set(project['optional-dependencies'])
    got = {str(requirements.Requirement(line)) for line in metadata.get_all('Requires-Dist')}
    assert got == _requires(project)


# Runs in a fresh folder with PYTHONPATH=DIR only: the tool as `python tools/X.py` starts it
# (tools/ first on sys.path), then the subpackages. Every mae_plugin module must come from DIR.
CLEAN_RUN = textwrap.dedent(
    """
    import importlib, importlib.util, os, runpy, sys
    site, tool, *argv = sys.argv[1:]
    sys.argv, sys.path[0] = [tool, *argv], os.path.dirname(tool)
    runpy.run_path(tool, run_name='__main__')
    for name in ['mae_plugin.apis', 'mae_plugin.lightning', 'mae_plugin.det', 'mae_plugin.seg']:
        stack = {'mae_plugin.det': 'mmdet', 'mae_plugin.seg': 'mmseg'}.get(name)
        if stack is None or importlib.util.find_spec(stack) is not None:
            importlib.import_module(name)
            print('imported', name)
            continue
        try:  # without the transfer stack: the error that says what to install
            importlib.import_module(name)
        except ImportError as err:
            assert 'make install-transfer' in str(err), err
            print('refused', name)
    outside = [
        (name, module.__file__)
        for name, module in sys.modules.items()
        if name.split('.')[0] == 'mae_plugin'
        and not os.path.realpath(module.__file__).startswith(os.path.realpath(site) + os.sep)
    ]
    assert not outside, f'imported from outside {site}: {outside[:3]}'
    print('all mae_plugin modules from', site)
    """
)


def test_the_installed_package_runs_a_tool_from_another_folder(installed, tmp_path):
    _, site = installed
    torch.manual_seed(0)
    src = save_plugin_checkpoint(tiny_mae(), tmp_path / 'in.pth')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    tool = os.path.join(ROOT, 'tools', 'convert_checkpoint.py')
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-c', CLEAN_RUN, str(site), tool, src, 'out.pth', '--to', 'timm'],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'all mae_plugin modules from {site}' in proc.stdout
    for name in ('apis', 'lightning', 'det', 'seg'):
        assert re.search(rf'^(imported|refused) mae_plugin\.{name}$', proc.stdout, re.M)
    assert 'patch_embed.proj.weight' in load_checkpoint_file(str(elsewhere / 'out.pth'))


# What a tool that needs a package of the checkout (not in the wheel) may do to sys.path
APPEND_ROOT = 'if ROOT not in sys.path:\n    sys.path.append(ROOT)\n'
CHECKOUT_PACKAGES = ('benchmarks', 'reproduction')


def test_tools_edit_sys_path_only_to_append_the_checkout_for_its_packages():
    """tools/ import the installed package (``make install``; tests start them with
    PYTHONPATH=ROOT), so a run never mixes the repository's modules with the installed ones.
    Only a tool that imports benchmarks/ or reproduction/ appends the repository root, after
    everything installed: an installed mae_plugin still comes first."""
    tools = os.path.join(ROOT, 'tools')
    editing = []
    for name in sorted(os.listdir(tools)):
        if name.endswith('.py'):
            text = open(os.path.join(tools, name)).read()
            rest = text.replace(APPEND_ROOT, '', 1)
            uses = any(f'from {package}' in rest for package in CHECKOUT_PACKAGES)
            if 'sys.path' in rest or (rest != text and not uses):
                editing.append(name)
    assert not editing, f'tools that edit sys.path otherwise: {editing}'


# A tool that appends the checkout for benchmarks/, run as in CLEAN_RUN: mae_plugin still comes
# from DIR, benchmarks/ from the checkout.
BENCHMARKS_RUN = textwrap.dedent(
    """
    import os, runpy, sys
    site, tool, *argv = sys.argv[1:]
    sys.argv, sys.path[0] = [tool, *argv], os.path.dirname(tool)
    runpy.run_path(tool, run_name='__main__')
    found = {
        name: os.path.realpath(module.__file__)
        for name, module in sys.modules.items()
        if name.split('.')[0] in ('mae_plugin', 'benchmarks')
    }
    checkout = os.path.dirname(os.path.dirname(os.path.realpath(tool)))
    site = os.path.realpath(site)
    assert found['benchmarks.memory'].startswith(checkout + os.sep), found['benchmarks.memory']
    outside = [(n, f) for n, f in found.items() if n.startswith('mae_plugin') and site not in f]
    assert not outside, f'imported from outside {site}: {outside[:3]}'
    print('benchmarks from the checkout, every mae_plugin module from', site)
    """
)


def test_a_benchmarks_tool_keeps_the_installed_package_first(installed, tmp_path):
    _, site = installed
    tool = os.path.join(ROOT, 'tools', 'memory_on_paper.py')
    demo = os.path.join(ROOT, 'configs', 'mae_vit-t_demo.py')
    proc = subprocess.run(
        [sys.executable, '-c', BENCHMARKS_RUN, str(site), tool, demo, '--gpus', '2'],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '| mae_vit-t_demo.py (' in proc.stdout
    assert f'every mae_plugin module from {os.path.realpath(site)}' in proc.stdout
