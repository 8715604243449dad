import itertools
import os
import random
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from tests.order import WORKER_KEY, Durations, Waits, cached_durations, longest_first

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# Rendezvous ports below the kernel's ephemeral range (32768 and up on Linux), so no outgoing
# connection takes one between the test choosing it and torchrun binding it; each xdist worker
# its own block of 1000, from a random start (other pytest sessions on the machine).
_WORKER = int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0').removeprefix('gw') or 0)
_PORTS = itertools.count(random.randrange(1000))
_DURATIONS = Durations()
_WAITS = Waits()


def free_port() -> str:
    """A TCP port nobody listens on now, for one torchrun/DDP launch (``MASTER_PORT``)."""
    base = 20000 + 1000 * (_WORKER % 12)
    for _ in range(1000):
        port = base + next(_PORTS) % 1000
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return str(port)
    raise OSError(f'no free port in {base}-{base + 999}')


def pytest_configure(config):
    """Under pytest-xdist each worker computes with its share of the cores (torch takes them
    all by default: the workers would contend for them)."""
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(workers)))


def pytest_collection_modifyitems(config, items):
    """The longest tests first (tests/order.py): parallel workers then share out the long runs
    at the start, and the quick tests fill in the end."""
    longest_first(config, items)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(pytest-xdist, in the controller) every worker sorts by the same numbers."""
    node.workerinput[WORKER_KEY] = cached_durations(node.config)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A phase's wait for another worker's build (built_once) goes with its report: the order
    does not count it as the test's time (tests/order.py)."""
    _WAITS.attach(item, call.when)
    yield


def pytest_runtest_logreport(report):
    _DURATIONS.record(report)


def pytest_sessionfinish(session):
    _DURATIONS.save(session.config)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` filled by ``build(folder)`` once per test run: under pytest-xdist the
    first worker to ask builds it while the others wait on a file lock, then every worker reads
    it (tests copy before they change anything). A build that raised is retried by the next."""
    base = tmp_path_factory.getbasetemp()
    if 'PYTEST_XDIST_WORKER' in os.environ:
        base = base.parent  # this run's folder, above the workers' own
    folder, done = base / f'shared-{name}', base / f'shared-{name}.done'
    asked = time.monotonic()
    with FileLock(f'{folder}.lock'):
        _WAITS.add(time.monotonic() - asked)  # another worker's build, if one held the lock
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def tiny_mae(img_size: int = 32, patch_size: int = 8, norm_pix: bool = True, **kw):
    """A depth-2 MAE small enough for every unit test."""
    from mae_plugin.models import build_mae

    return build_mae(
        'tiny',
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=48,
        depth=2,
        num_heads=3,
        norm_pix=norm_pix,
        decoder=dict(embed_dim=32, depth=2, num_heads=4),
        **kw,
    )


@pytest.fixture(autouse=True)
def environment_restored():
    """Each test leaves ``os.environ`` as it found it. ``tools/train.py``'s ``main()`` run in
    this process sets ``LOCAL_RANK`` (as OpenMMLab's tools do); a later DDP run started by a
    test inherits it, and Lightning then takes itself for an already-launched rank and never
    starts the second process (rank 0 waits at the rendezvous until its timeout)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def default_scope_restored():
    """Each test leaves MMEngine's current default scope as it found it: a run in the test
    process (mmdet's or mmseg's config) makes its scope current for the rest of the worker, and
    a later ``MODELS.build`` would then look in ``mmdet::model`` for the plugin's types."""
    from mmengine.registry import DefaultScope

    saved = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


@pytest.fixture
def mae():
    torch.manual_seed(0)
    return tiny_mae()


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """scikit-image's photographs written as an image folder (real images, no download)."""
    from tools.demo_data import prepare_demo_images, prepare_knn_split

    root = tmp_path_factory.mktemp('demo')
    prepare_demo_images(str(root))
    prepare_knn_split(str(root))
    return str(root)


def save_plugin_checkpoint(mae, path):
    """Write ``mae`` as this plugin's MMEngine checkpoint (``state_dict`` with ``mae.*``)."""
    torch.save(
        {'meta': {}, 'state_dict': {f'mae.{k}': v for k, v in mae.state_dict().items()}}, path
    )
    return str(path)


@pytest.fixture(scope='session')
def pretrained_64(tmp_path_factory):
    """(path, mae): a plugin checkpoint of a depth-2, 48-dim MAE at 64 px, patch 8 (the input
    of the demo transfer configs)."""
    torch.manual_seed(0)
    mae = tiny_mae(img_size=64, patch_size=8)
    return save_plugin_checkpoint(mae, tmp_path_factory.mktemp('pretrain') / 'iter_1.pth'), mae


@pytest.fixture(scope='session')
def tiny_demo_run(tmp_path_factory, demo_root):
    """(run, resumed): ``tools/train.py`` on the demo config with the tiny MAE, 6 iterations,
    checkpoint, pictures and kNN every 3 (tests/tools/training.py), in ``.../mae_vit-t_demo``;
    and a copy of it resumed from iteration 3, which logs steps 4-6 again in a second
    timestamp folder. One pair per test run, shared by the tools, curves, TensorBoard and
    checkpoint-meta tests: read only."""
    from tests.tools.training import build_demo_runs

    folder = built_once(tmp_path_factory, 'tiny_demo_run', lambda f: build_demo_runs(f, demo_root))
    return str(folder / 'mae_vit-t_demo'), str(folder / 'resumed')
