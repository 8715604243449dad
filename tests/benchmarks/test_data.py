"""benchmarks/data.py: ImageNet-like JPEGs from the demo photographs, the config's pipeline and
the official one side by side."""

import os

import torch
from PIL import Image

from benchmarks.data import compare_pipelines, write_imagenet_like_jpegs

DEMO = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    'configs',
    'mae_vit-t_demo.py',
)


def test_the_generated_jpegs_are_imagenet_like(tmp_path):
    paths = write_imagenet_like_jpegs(str(tmp_path), 24)
    assert len(set(paths)) == 24
    for path in paths:
        with Image.open(path) as image:
            assert image.format == 'JPEG' and image.mode == 'RGB'
            width, height = image.size
            assert 500 <= width <= 800 and 375 <= height <= 600 and height == width * 3 // 4


def test_data_mode_times_the_config_pipeline_against_the_official_one(tmp_path, capsys):
    threads = torch.get_num_threads()
    try:
        best = compare_pipelines(DEMO, images=8, rounds=1, folder=str(tmp_path))
    finally:
        torch.set_num_threads(threads)
    assert {'configured', 'official', 'PIL full', 'torchvision decode_jpeg'} <= set(best)
    assert all(rate > 0 for rate in best.values())
    said = capsys.readouterr().out
    assert said.startswith('device cpu (') and ', 1 thread;' in said.splitlines()[0]
    assert f'configured = {DEMO} train pipeline' in said
