"""tools/visualize_reconstruction.py: it writes a PNG of the expected size, and its original
panel gives a 16-bit or 32-bit file what it gives its 8-bit twin, within 1 level."""

import os

import numpy as np
import torch
from PIL import Image

from mae_plugin.apis import init_model
from mae_plugin.monitor.layout import GAP, HEADER
from tests.helpers.checkpoints import DEMO_CFG
from tests.helpers.paths import ROOT
from tests.helpers.ramps import DEEP, assert_close, assert_ramp, write_ramps
from tests.helpers.tools import run
from tools.visualize_reconstruction import main as visualize

STEP = 4 * 64 + GAP  # a 64-px demo panel enlarged 4 x, and the gap after it


def test_visualize_tool_writes_png_of_expected_size(tmp_path, demo_root):
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': init_model(DEMO_CFG).state_dict()}, ckpt)
    out = tmp_path / 'recon.png'
    images = [
        os.path.join(demo_root, 'train', f'{n}.jpg') for n in ('astronaut', 'coffee', 'rocket')
    ]
    # the tool's function, in this process: docs/monitoring.md runs its command line
    options = ['--strategy', 'block', '--mask-ratio', '0.5', '--seed', '1']
    visualize([DEMO_CFG, str(ckpt), *images, '--out', str(out), *options])
    # 3 rows of 4 panels, each enlarged to 256 px, white gaps, a header naming the columns
    assert Image.open(out).size == (4 * STEP - GAP, HEADER + 3 * STEP - GAP)


def test_visualize_reconstruction_shows_deep_files_with_their_contrast(tmp_path):
    ramps = write_ramps(str(tmp_path / 'ramps'))
    kinds = list(DEEP)
    images = [ramps[k][0] for k in kinds] + [ramps['grey16.png'][1], ramps['rgb16.png'][1]]
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': init_model(DEMO_CFG).state_dict()}, ckpt)
    out = tmp_path / 'recon.png'
    tool = os.path.join(ROOT, 'tools', 'visualize_reconstruction.py')
    run(tool, DEMO_CFG, str(ckpt), *images, '--out', str(out))
    picture = np.asarray(Image.open(out).convert('RGB'))
    originals = [picture[HEADER + r * STEP :][:256, :256] for r in range(len(images))]
    twins = {'grey8.png': originals[-2], 'rgb8.png': originals[-1]}
    for kind, original in zip(kinds, originals, strict=False):
        assert_close(original, twins[DEEP[kind]])  # the twin's panel, within a level
        assert_ramp(original)
