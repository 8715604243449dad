"""Evaluation never substitutes data: an unreadable validation or test image is an error naming
it, or (``on_corrupt='skip'``) dropped from the accuracy and counted in the metric's output,
through ``tools/train.py`` (validation during training) and ``tools/test.py``, on 1 process
(the tools' functions, in the test process) and 2 (``tools/test.py`` under torchrun)."""

import os
import re
import shutil
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

import mae_plugin  # noqa: F401
from mae_plugin.data import CorruptImageError
from mae_plugin.engine.classification.metric import MAEAccuracy
from mae_plugin.engine.pretrain.dataset import MAEImageFolder
from tests.helpers import in_process, processes
from tests.helpers.mmengine_runs import cli
from tests.helpers.mmengine_runs import finetune_options as options
from tests.helpers.paths import ROOT

TEST = os.path.join(ROOT, 'tools', 'test.py')
FINETUNE = os.path.join(ROOT, 'configs', 'cls', 'vit-t-mae_finetune_demo.py')
PIPELINE = [
    dict(type='MAELoadImage'),
    dict(type='MAEResize', size=73),
    dict(type='MAECenterCrop', size=64),
    dict(type='MAEPackInputs'),
]


def with_unreadable_val(tmp_path, demo_root):
    """A copy of the demo tiles whose val split holds one more file, unreadable: 81 files."""
    root = tmp_path / 'knn'
    shutil.copytree(os.path.join(demo_root, 'knn'), root)
    first = sorted(os.listdir(root / 'val'))[0]
    bad = root / 'val' / first / 'zz_unreadable.jpg'
    bad.write_bytes(b'not an image at all')
    return str(root), str(bad)


def run(args, torchrun=False):
    """(return code, output) of ``python [-m torch.distributed.run ...] ARGS``."""
    done = processes.run(
        [*(processes.torchrun(2) if torchrun else [sys.executable]), *args], check=False
    )
    return done.returncode, done.output


def eval_options(demo_root, checkpoint, root, **extra):
    opts = options(demo_root, checkpoint, iters=2)
    opts['val_dataloader.dataset.data_root'] = opts['test_dataloader.dataset.data_root'] = root
    opts.update(extra)
    return opts


def top1(out):
    return float(out.rsplit('accuracy/top1: ', 1)[1].split()[0])


def test_val_and_test_datasets_refuse_to_substitute(tmp_path, demo_root):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    with DefaultScope.overwrite_default_scope('mae_plugin'):
        make = dict(data_root=root, data_prefix=dict(img_path='val'), classes='train')
        strict = MAEImageFolder(pipeline=PIPELINE, test_mode=True, **make)
        lenient = MAEImageFolder(pipeline=PIPELINE, test_mode=True, on_corrupt='skip', **make)
    index = [info['img_path'] for info in strict.load_data_list()].index(bad)
    with pytest.raises(CorruptImageError, match='zz_unreadable.jpg'):
        strict[index]
    sample = lenient[index]
    assert sample['data_samples']['unreadable'] == bad  # marked, not replaced silently
    assert sample['inputs'].shape == (3, 64, 64)
    assert lenient[0]['data_samples']['unreadable'] == ''


def test_the_metric_drops_unreadable_samples_and_says_so():
    metric = MAEAccuracy(topk=(1,))
    good = dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=0, unreadable='')
    wrong = dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=1, unreadable='')
    dropped = dict(pred_score=torch.tensor([0.1, 0.9]), gt_label=0, unreadable='/x/bad.jpg')
    metric.process({}, [good, wrong, dropped, good])
    result = metric.compute_metrics(metric.results)
    assert result == {'top1': pytest.approx(100 * 2 / 3), 'unreadable': 1}
    assert 'over 3 of 4 images, 1 unreadable' in metric.summary
    assert '/x/bad.jpg' in metric.summary


@pytest.mark.slow
def test_an_unreadable_val_or_test_image_is_an_error_naming_it(tmp_path, demo_root, pretrained_64):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    work = str(tmp_path / 'ft')
    opts = eval_options(demo_root, pretrained_64[0], root)
    with pytest.raises(CorruptImageError, match=re.escape(bad)):
        in_process.train(FINETUNE, work, opts)
    # the checkpoint of iteration 2 was written before the validation
    checkpoint = os.path.join(work, 'iter_2.pth')
    with pytest.raises(CorruptImageError, match=re.escape(bad)):
        in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'test'), opts)


@pytest.mark.slow
def test_skip_drops_an_unreadable_image_from_the_accuracy_and_counts_it(
    tmp_path, demo_root, pretrained_64
):
    root, bad = with_unreadable_val(tmp_path, demo_root)
    work = str(tmp_path / 'ft')
    skip = {
        'val_dataloader.dataset.on_corrupt': 'skip',
        'test_dataloader.dataset.on_corrupt': 'skip',
    }
    said = re.escape(f'over 80 of 81 images, 1 unreadable: {bad!r}')
    opts = eval_options(demo_root, pretrained_64[0], root, **skip)
    _, log = in_process.train(FINETUNE, work, opts)
    assert re.search(said, log), log[-3000:]
    checkpoint = os.path.join(work, 'iter_2.pth')
    reference_opts = eval_options(demo_root, pretrained_64[0], os.path.join(demo_root, 'knn'))
    metrics, _ = in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'ref'), reference_opts)
    reference = metrics['accuracy/top1']  # the 80 readable images alone
    metrics, log = in_process.evaluate(FINETUNE, checkpoint, str(tmp_path / 'skip'), opts)
    assert re.search(said, log), log[-3000:]
    assert metrics['accuracy/top1'] == reference and metrics['accuracy/unreadable'] == 1
    # 2 processes, through tools/test.py's command line: the sampler pads 81 to 82 (index 0
    # twice); the metric counts each file once
    args = [TEST, FINETUNE, checkpoint, '--work-dir', work, '--launcher', 'pytorch']
    code, out = run(args + cli(opts), torchrun=True)
    assert code == 0 and re.search(said, out), out[-3000:]
    assert top1(out) == round(reference, 2)


def test_a_substitute_in_an_evaluation_batch_is_an_error():
    """A dataset that replaced an unreadable image (a training dataset used for evaluation)."""
    metric = MAEAccuracy(topk=(1,))
    replaced = dict(num_skipped=torch.tensor([0, 1]), skipped_files=['', '/x/b.jpg'])
    batch = dict(data_samples=replaced)
    preds = [dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=0)] * 2
    with pytest.raises(RuntimeError, match=r"replaced unreadable image\(s\) '/x/b.jpg'"):
        metric.process(batch, preds)
    metric.process(dict(data_samples=dict(num_skipped=torch.tensor([0, 0]))), preds)
    assert metric.compute_metrics(metric.results) == {'top1': 100.0}
