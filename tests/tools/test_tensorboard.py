"""Pretraining with ``visualizer.vis_backends=[dict(type='TensorboardVisBackend')]`` writes an
event file that TensorBoard itself reads back: the loss of every iteration and the
reconstruction picture, equal to what the local backend writes beside it."""

import glob
import io
import os

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mae_plugin.data.picture import GAP, HEADER
from tests.tools.training import DEMO, options, rows, train


@pytest.mark.slow
def test_tensorboard_holds_the_loss_and_the_reconstruction(tmp_path, demo_root):
    config = tmp_path / 'tensorboard_demo.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
        "dict(type='TensorboardVisBackend')])\n"
    )
    work = str(tmp_path / 'work')
    train(str(config), work, options(demo_root, 4, 2))
    (events,) = glob.glob(os.path.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    board = EventAccumulator(os.path.dirname(events), size_guidance={'images': 0, 'scalars': 0})
    board.Reload()
    tags = board.Tags()
    assert 'loss' in tags['scalars'] and 'reconstruction' in tags['images'], tags

    (log,) = rows(work)
    logged = {r['step']: r['loss'] for r in log if 'loss' in r}
    seen = {e.step: e.value for e in board.Scalars('loss')}
    assert sorted(seen) == [1, 2, 3, 4] == sorted(logged)
    assert seen == pytest.approx(logged, rel=1e-6)  # TensorBoard stores float32

    pictures = {
        e.step: np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))
        for e in board.Images('reconstruction')
    }
    assert sorted(pictures) == [2, 4]
    png = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', 'reconstruction_4.png'))
    local = np.asarray(Image.open(png[0]).convert('RGB'))
    step = 4 * 64 + GAP  # 4 panels x 4 images of 64 px, enlarged 4 x, under a header
    assert pictures[4].shape == local.shape == (HEADER + 4 * step - GAP, 4 * step - GAP, 3)
    assert np.array_equal(pictures[4], local)
    assert pictures[2].std() > 0  # a picture, not a blank
