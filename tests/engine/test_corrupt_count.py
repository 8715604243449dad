"""``corrupt_images`` counts distinct unreadable files, not reads: a file met again (a retry, the
next epoch, another rank) counts once, the count goes on after ``--resume``, and the log names
each file once. Folders (2 processes under torchrun, resumed) and tar shards."""

import os
import shutil

import pytest
import torch

from mae_plugin.data.shards import ShardStream
from mae_plugin.data.transforms import MAELoadImage
from mae_plugin.data.unreadable import UnreadableFiles, batch_names
from tests.helpers.data import jpeg, write_tar
from tests.helpers.fsdp_runs import torchrun
from tests.helpers.mmengine_runs import TINY, demo_options, without_monitors
from tests.helpers.paths import DEMO
from tests.helpers.scalars import runs

LISTED = 'unreadable image file(s) skipped'


def test_shard_members_and_a_damaged_shard_are_named_once(tmp_path):
    good = [(f'{i}.jpg', jpeg((10 * i, 0, 0))) for i in range(4)]
    write_tar(
        tmp_path / 'a.tar',
        [('bad.jpg', b'not a jpeg'), ('2x.jpg', jpeg('red')), ('2x.cls', b'seven')] + good[:2],
    )
    write_tar(tmp_path / 'b.tar', good[2:] + [('big.jpg', os.urandom(20000))])
    data = (tmp_path / 'b.tar').read_bytes()
    (tmp_path / 'b.tar').write_bytes(data[: len(data) - 10000])

    def load(sample):
        return dict(img=MAELoadImage()(sample)['img'])

    files = UnreadableFiles()
    reads = 0
    for sample in ShardStream('*.tar', load, str(tmp_path), epochs=3, buffer=1):
        files.add(sample['skipped_files'])
        reads += sample['num_skipped']
    files.sync()
    a, b = str(tmp_path / 'a.tar'), str(tmp_path / 'b.tar')
    assert files.state() == sorted([f'{a}:2x', f'{a}:bad.jpg', b])
    assert reads == 9  # three epochs met each of them
    assert batch_names(['', f'{a}:2x\0{b}', b]) == {f'{a}:2x', b}


@pytest.mark.slow
def test_two_ranks_count_each_bad_file_once_across_epochs_retries_and_resume(tmp_path, demo_root):
    # 6 files, the last unreadable; 2 ranks x 2 images an iteration: every rank meets the bad
    # file every 3 iterations or so, and its redraws may land on it again (no pictures or kNN:
    # what they read is not this test's)
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    for name in sorted(os.listdir(os.path.join(demo_root, 'train')))[:5]:
        shutil.copy(os.path.join(demo_root, 'train', name), train / name)
    bad = str(train / 'zz_unreadable.jpg')
    open(bad, 'wb').write(b'not an image at all')
    work = str(tmp_path / 'ddp')
    extra = {
        **TINY,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 1,
    }

    def train(iters, *args):
        options = without_monitors(demo_options(str(tmp_path / 'data'), iters, 4, **extra))
        return torchrun(DEMO, work, options, extra=args)

    out = train(8)
    first = counts(work)
    assert max(first.values()) == 1 and first[8] == 1, first
    assert out.count(LISTED) == 1 and repr(bad) in out.split(LISTED, 1)[1].split('\n', 1)[0]
    saved = torch.load(os.path.join(work, 'iter_4.pth'), weights_only=True)
    assert saved['corrupt_images'] == [bad]
    # resumed from iteration 4: both ranks restart their loaders, and meet the file again
    os.remove(os.path.join(work, 'iter_8.pth'))
    with open(os.path.join(work, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(work, 'iter_4.pth'))
    out = train(8, '--resume')
    again = counts(work)
    assert set(again) == {5, 6, 7, 8} and set(again.values()) == {1}, again
    assert LISTED not in out  # known from the checkpoint: not listed again
    final = torch.load(os.path.join(work, 'iter_8.pth'), weights_only=True)
    assert final['corrupt_images'] == [bad]


def counts(work_dir):
    """{step: corrupt_images} of the latest run in ``work_dir``."""
    latest = runs(work_dir)[-1]
    return {row['step']: row['corrupt_images'] for row in latest if 'corrupt_images' in row}
