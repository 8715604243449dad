"""tools/analyze_logs.py plot_curve on the scalars.json of real (short) pretraining runs: the
picture is written at its size, and what is drawn is the log's numbers, a resumed run's
repeated steps taken from the later run."""

import os

import pytest
from PIL import Image

from mae_plugin.analysis import load_run, plot_curves
from tests.helpers import scalars
from tools.analyze_logs import main as analyze_main


@pytest.fixture(scope='module')
def runs(tiny_demo_run):
    """(single, resumed): the shared 6-iteration tiny demo run (tests/conftest.py), and its
    copy resumed from iteration 3, which logs steps 4-6 a second time in a second timestamp
    folder."""
    return tiny_demo_run


SINGLE = 'mae_vit-t_demo'  # the single run's folder: its label in the drawing


@pytest.mark.slow
def test_plot_curve_draws_the_logged_numbers_into_a_png_of_its_size(runs, tmp_path, capsys):
    single, _ = runs
    out = tmp_path / 'curves.png'
    analyze_main(['plot_curve', single, '--keys', 'loss', 'lr', 'knn_top1', '--out', str(out)])
    assert 'wrote' in capsys.readouterr().out
    assert Image.open(out).size == (800, 900)  # 8 x (3 x 3 keys) inches at 100 dpi
    (log,) = scalars.runs(single)
    drawn = plot_curves([single], ['loss', 'lr', 'knn_top1'], tmp_path / 'again.png')[SINGLE]
    train_rows = [r for r in log if 'loss' in r]
    assert drawn['loss'] == ([r['step'] for r in train_rows], [r['loss'] for r in train_rows])
    assert drawn['lr'] == ([r['step'] for r in train_rows], [r['lr'] for r in train_rows])
    assert drawn['loss'][0] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    # the kNN measurement of step 6 (its own row, after the training row) is what is drawn
    knn = {r['step']: r['knn_top1'] for r in log if set(r) == {'knn_top1', 'step'}}
    assert sorted(knn) == [0, 3, 6]  # before training too
    points = dict(zip(*drawn['knn_top1'], strict=True))
    assert points[3.0] == knn[3] and points[6.0] == knn[6]


@pytest.mark.slow
def test_a_resumed_run_is_concatenated_and_its_repeated_steps_win(runs, tmp_path):
    single, resumed = runs
    first, second = scalars.runs(resumed)
    assert [r['step'] for r in second if 'loss' in r] == [4, 5, 6]  # redone after resuming
    drawn = plot_curves([single, resumed], ['loss', 'time'], tmp_path / 'both.png')
    assert Image.open(tmp_path / 'both.png').size == (800, 600)
    # the resume continues exactly (same losses), so the step time tells the runs apart
    before = {r['step']: r['time'] for r in first if 'time' in r}
    after = {r['step']: r['time'] for r in second if 'time' in r}
    assert all(before[s] != after[s] for s in (4, 5, 6))
    steps, times = drawn['resumed']['time']
    assert steps == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert times == [before[1], before[2], before[3], after[4], after[5], after[6]]
    expected = {r['step']: r['loss'] for r in first + second if 'loss' in r}
    assert drawn['resumed']['loss'][1] == [expected[s] for s in range(1, 7)]
    assert drawn[SINGLE]['loss'][1][:3] == drawn['resumed']['loss'][1][:3]  # a line each
    assert load_run(resumed)[5]['time'] == after[5]


@pytest.mark.slow
def test_a_key_not_in_the_log_is_an_error_listing_the_keys_that_are(runs, tmp_path):
    single, _ = runs
    with pytest.raises(
        ValueError,
        match=r"\['accuracy/top1'\] not in the log of .*mae_vit-t_demo'; it "
        r"has \[.*'knn_top1', 'loss', 'lr'",
    ):
        analyze_main(
            [
                'plot_curve',
                single,
                '--keys',
                'loss',
                'accuracy/top1',
                '--out',
                str(tmp_path / 'x.png'),
            ]
        )
    assert not os.path.exists(tmp_path / 'x.png')
