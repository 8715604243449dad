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

from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers.scalars import runs


@pytest.mark.slow
def test_tensorboard_holds_the_loss_and_the_reconstruction(tiny_demo_run):
    work, _ = tiny_demo_run  # trained with both backends, pictures at steps 3 and 6
    (events,) = glob.glob(os.path.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    board = EventAccumulator(os.path.dirname(events), size_guidance={'images': 0, 'scalars': 0})
    board.Reload()
    tags = board.Tags()
    assert 'loss' in tags['scalars'] and 'reconstruction' in tags['images'], tags

    (log,) = runs(work)
    logged = {r['step']: r['loss'] for r in log if 'loss' in r}
    seen = {e.step: e.value for e in board.Scalars('loss')}
    assert sorted(seen) == [1, 2, 3, 4, 5, 6] == sorted(logged)
    assert seen == pytest.approx(logged, rel=1e-6)  # TensorBoard stores float32

    pictures = {
        e.step: np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))
        for e in board.Images('reconstruction')
    }
    assert sorted(pictures) == [3, 6]
    png = glob.glob(os.path.join(work, '*', 'vis_data', 'vis_image', 'reconstruction_6.png'))
    local = np.asarray(Image.open(png[0]).convert('RGB'))
    step = 4 * 64 + GAP  # 4 panels x 4 images of 64 px, enlarged 4 x, under a header
    assert pictures[6].shape == local.shape == (HEADER + 4 * step - GAP, 4 * step - GAP, 3)
    assert np.array_equal(pictures[6], local)
    assert pictures[3].std() > 0  # a picture, not a blank
