"""The runs of tools/train.py's functions in the test process (in_process.py) end with their
loader workers: left to the garbage collector, each would cost a later test a 5 s wait."""

import multiprocessing

from tests.helpers import in_process
from tests.helpers.mmengine_runs import TINY, demo_options, without_monitors
from tests.helpers.paths import DEMO


def test_a_run_in_this_process_leaves_no_loader_workers(tmp_path, demo_root):
    workers = {'train_dataloader.num_workers': 2, 'train_dataloader.persistent_workers': True}
    options = without_monitors(demo_options(demo_root, 2, 2, **{**TINY, **workers}))
    before = set(multiprocessing.active_children())
    runner, _ = in_process.train(DEMO, str(tmp_path / 'run'), options)
    assert runner.iter == 2
    assert set(multiprocessing.active_children()) - before == set()
