"""tools/demo_summary.py, the end of ``make demo``: after a real (short) run it draws the curves
into the work dir and prints paths that exist, the logged numbers and the next commands; a
work dir missing what it names is an error."""

import os
import re
import shutil

import pytest
from PIL import Image

from mae_plugin.analysis.summary import (
    format_summary,
    newest_checkpoint,
    reconstruction_pictures,
    summarize,
)
from tests.helpers.scalars import runs
from tools.demo_summary import main as summary_main


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_demo_run):
    """A copy of the shared 6-iteration tiny demo run (tests/conftest.py), in a folder of the
    demo's name: checkpoints, pictures and kNN at steps 3 and 6 (the summary writes into it)."""
    work = str(tmp_path_factory.mktemp('summary') / 'mae_vit-t_demo')
    shutil.copytree(tiny_demo_run[0], work)
    with open(os.path.join(work, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(work, 'iter_6.pth'))  # the copy's own, as a run of its own writes
    return work


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


@pytest.mark.slow
def test_what_is_missing_is_named(run, tmp_path):
    broken = str(tmp_path / 'mae_vit-t_digits')
    shutil.copytree(run, broken)
    with open(os.path.join(broken, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(broken, 'iter_6.pth'))  # the copy's own, not the run's
    assert 'make demo-digits' not in summarize_text(broken)  # the run just done is not next
    os.remove(newest_checkpoint(broken))
    with pytest.raises(FileNotFoundError, match='iter_6.pth'):
        summarize(broken)
    os.remove(os.path.join(broken, 'last_checkpoint'))
    with pytest.raises(FileNotFoundError, match='saved no checkpoint'):
        summarize(broken)
    for picture in reconstruction_pictures(broken):
        os.remove(picture)
    with pytest.raises(FileNotFoundError, match='no reconstruction picture'):
        reconstruction_pictures(broken)
    with pytest.raises(ValueError, match=r"\['top5'\] not in the log"):
        summarize(run, keys=['loss', 'top5'])


def summarize_text(work_dir: str) -> str:
    return format_summary(summarize(work_dir))
