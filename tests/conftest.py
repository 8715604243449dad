"""Hooks and fixtures of the whole suite; what tests share as code is in tests/helpers/."""

import os
import sys
from functools import partial
from pathlib import Path

import pytest
import torch

from mae_plugin.apis import init_model
from tests.helpers.checkpoints import DEMO_CFG, save_plugin_checkpoint
from tests.helpers.data import with_corrupt_train
from tests.helpers.det import coco_folder
from tests.helpers.digits import digits_folder
from tests.helpers.fsdp_runs import build_two_node_runs
from tests.helpers.lightning_runs import build_two_process_fits, tiny_fit
from tests.helpers.mmengine_runs import build_demo_runs
from tests.helpers.models import tiny_mae
from tests.helpers.paths import ROOT
from tests.helpers.ramps import FOLDER_KINDS, twin_roots
from tests.helpers.seg import seg_folder
from tests.helpers.shards import pack_demo
from tests.helpers.shared import WAITS, built_once
from tests.order import WORKER_KEY, Durations, cached_durations, longest_first

sys.path.insert(0, ROOT)
_DURATIONS = Durations()


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
    WAITS.attach(item, call.when)
    yield


def pytest_runtest_logreport(report):
    _DURATIONS.record(report)


def pytest_sessionfinish(session):
    _DURATIONS.save(session.config)


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
    checkpoint, pictures and kNN every 3 (``build_demo_runs``), in ``.../mae_vit-t_demo``;
    and a copy of it resumed from iteration 3, which logs steps 4-6 again in a second
    timestamp folder. One pair per test run, shared by the tools, curves, TensorBoard and
    checkpoint-meta tests: read only."""
    folder = built_once(tmp_path_factory, 'tiny_demo_run', lambda f: build_demo_runs(f, demo_root))
    return str(folder / 'mae_vit-t_demo'), str(folder / 'resumed')


@pytest.fixture(scope='session')
def two_node_runs(tmp_path_factory, demo_root) -> dict[str, str]:
    """{'ddp': work dir, 'fsdp': work dir} of ``build_two_node_runs`` (tests/helpers/fsdp_runs.py),
    made once per test run for the DDP, FSDP2 and resume-on-another-layout tests. Read only:
    a test that resumes copies the folder first."""
    build = partial(build_two_node_runs, data_root=demo_root)
    folder = built_once(tmp_path_factory, 'engine-two-node-runs', build)
    return {name: str(folder / name) for name in ('ddp', 'fsdp')}


@pytest.fixture(scope='session')
def two_process_fits(tmp_path_factory, demo_root) -> Path:
    """The folder of ``build_two_process_fits`` (tests/helpers/lightning_runs.py): the tiny run
    on 2 CPU processes under DDP and under mae_fsdp2, made once per test run for the FSDP2 and
    the resume-on-another-layout tests. Read only: a resumed run writes in a folder of its
    own."""
    build = partial(build_two_process_fits, data_root=demo_root)
    return built_once(tmp_path_factory, 'lightning-two-process-fits', build)


@pytest.fixture(scope='module')
def demo_core():
    """The core state dict of the demo MAE (ViT-Ti-like, 64 px, patch 8), seeded."""
    torch.manual_seed(3)
    return init_model(DEMO_CFG).mae.state_dict()


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    """The demo coins as a COCO folder (``tools/demo_data.py``); its path ends in ``/``. Read
    only: a test that changes it copies it first."""
    return coco_folder(str(tmp_path_factory.mktemp('coco')))


@pytest.fixture(scope='session')
def seg_root(tmp_path_factory):
    """The demo segmentation set in the ADE20K layout. Read only."""
    return seg_folder(str(tmp_path_factory.mktemp('ade')))


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory):
    """scikit-learn's digits as a labelled folder, 1442 train / 355 val images. Read only."""
    return digits_folder(str(tmp_path_factory.mktemp('digits')))


@pytest.fixture(scope='session')
def shard_root(demo_root, tmp_path_factory):
    """The demo photographs as 5 shards of 4 (the demo config's packing). Read only."""
    return pack_demo(tmp_path_factory, demo_root)


@pytest.fixture(scope='session')
def lightning_fit(tmp_path_factory, demo_root):
    """(cli, path of last.ckpt) of a 10-step tiny Lightning run. Read only."""
    return tiny_fit(tmp_path_factory.mktemp('fit'), demo_root)


@pytest.fixture
def with_corrupt(tmp_path, demo_root):
    """data_root with 6 photographs and 2 unreadable files in train/ (8 = 2 batches of 4)."""
    return with_corrupt_train(tmp_path, demo_root)


@pytest.fixture(scope='module', params=FOLDER_KINDS)
def roots(request, tmp_path_factory):
    """(deep root, twin root, kind) in the ImageNet layout, one deep kind at a time."""
    return twin_roots(tmp_path_factory, request.param)
