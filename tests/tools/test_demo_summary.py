"""tools/demo_summary.py, the end of ``make demo``: after a real (short) run it draws the curves
into the work dir and prints paths that exist, the logged numbers and the next commands; a
work dir missing what it names is an error (tests/analysis/test_summary.py)."""

import os
import re

import pytest
from PIL import Image

from tests.helpers.demo_runs import copy_demo_run
from tests.helpers.scalars import runs
from tools.demo_summary import main as summary_main


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_demo_run):
    """A copy of the shared 6-iteration tiny demo run (tests/conftest.py), in a folder of the
    demo's name: checkpoints, pictures and kNN at steps 3 and 6 (the summary writes into it)."""
    return copy_demo_run(tmp_path_factory, tiny_demo_run)


@pytest.mark.slow
def test_the_summary_names_what_the_run_left_and_what_to_run_next(run, capsys):
    summary_main([run, '--config', 'configs/mae_vit-t_demo.py'])
    text = capsys.readouterr().out
    paths = dict(re.findall(r'^  (checkpoint|pictures|curves) +(\S+)', text, re.M))
    assert paths['checkpoint'].endswith('iter_6.pth')
    assert paths['pictures'].endswith('reconstruction_6.png') and '(and 1 earlier)' in text
    assert all(os.path.isfile(p) for p in paths.values()), paths
    assert os.path.samefile(paths['curves'], os.path.join(run, 'curves.png'))
    assert Image.open(paths['curves']).size == (800, 600)  # loss and knn_top1
    (log,) = runs(run)
    knn = [(r['step'], r['knn_top1']) for r in log if 'knn_top1' in r]
    assert [s for s, _ in knn] == [0, 3, 6]
    assert f'knn_top1    {knn[0][1]:.4g} at step 0 -> {knn[-1][1]:.4g} at step 6' in text
    losses = [r['loss'] for r in log if 'loss' in r]
    assert f'loss        {losses[0]:.4g} at step 1 -> {losses[-1]:.4g} at step 6' in text
    commands = [line for line in text.splitlines()[text.splitlines().index('Next:') :]]
    assert 'make demo-cls' in commands and 'make demo-digits' in commands
    assert (
        'python tools/train_lightning.py fit --config configs/lightning/mae_vit-t_demo.yaml'
        in commands
    )
    assert any(
        c.startswith('python tools/visualize_reconstruction.py configs/mae_vit-t_demo.py ')
        and paths['checkpoint'] in c
        for c in commands
    )
