"""Data faults during a run: files that vanish or turn unreadable after the scan, and the count
of skipped images summed over the ranks of a real 2-process (gloo) run."""

import glob
import os
import shutil
import sys

import pytest
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from mae_plugin.data import CorruptImageError
from tests.helpers import scalars
from tests.helpers.data import dataset, make_folder
from tests.helpers.mmengine_runs import TINY, cli, demo_options, run_cli, without_monitors
from tests.helpers.paths import DEMO, TRAIN
from tests.helpers.ports import free_port


def test_files_gone_or_unreadable_after_the_scan_are_skipped_and_counted(tmp_path, demo_root):
    root = make_folder(
        tmp_path,
        demo_root,
        {
            f'train/{i}.jpg': name
            for i, name in enumerate(('astronaut', 'coffee', 'chelsea', 'rocket', 'moon', 'coins'))
        },
    )
    ds = dataset(root)
    strict = dataset(root, on_corrupt='error')
    train = tmp_path / 'train'
    os.remove(train / '1.jpg')  # deleted
    os.remove(train / '2.jpg')
    os.mkdir(train / '2.jpg')  # a folder in its place: unreadable, root or not
    bad = {1, 2}
    if os.geteuid() != 0:  # root reads through chmod 000
        os.chmod(train / '3.jpg', 0)
        bad.add(3)
    try:
        for idx in range(len(ds)):
            skipped = ds[idx]['data_samples']['num_skipped']
            assert (skipped >= 1) == (idx in bad), (idx, skipped)
        # as training reads: a worker process, collated batches
        loader = DataLoader(ds, batch_size=len(ds), num_workers=1, collate_fn=default_collate)
        batch = next(iter(loader))
        assert batch['inputs'].shape == (len(ds), 3, 64, 64)
        skipped = batch['data_samples']['num_skipped'].tolist()
        assert [i for i, n in enumerate(skipped) if n >= 1] == sorted(bad)
        with pytest.raises(CorruptImageError, match=r'1\.jpg'):
            strict[1]
        with pytest.raises(CorruptImageError, match=r'2\.jpg'):
            strict[2]
    finally:
        os.chmod(train / '3.jpg', 0o644)


def corrupt_counts(work_dir):
    return scalars.logged(work_dir, 'corrupt_images')


@pytest.mark.slow
def test_corrupt_images_are_summed_over_ranks(tmp_path, demo_root):
    # 100 good tiles and 3 corrupt files; unshuffled, with 2 images a rank and iteration, rank r
    # reads indices r, r + 2, ...: in the second iteration rank 0 meets 004.jpg, rank 1 005.jpg
    # and 007.jpg
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    tile_files = sorted(glob.glob(os.path.join(demo_root, 'knn', 'train', '*', '*.jpg')))
    for i in range(103):
        if i in (4, 5, 7):
            (train / f'{i:03d}.jpg').write_bytes(b'not an image at all')
        else:
            shutil.copy(tile_files[i % len(tile_files)], train / f'{i:03d}.jpg')
    work = str(tmp_path / 'ddp')
    options = demo_options(
        str(tmp_path / 'data'),
        3,
        3,
        **{
            **TINY,
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 1,
            'train_dataloader.sampler.type': 'DefaultSampler',
            'train_dataloader.sampler.shuffle': False,
        },
    )
    options = without_monitors(options)  # no pictures or kNN: the training reads alone
    out = run_cli(
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            '--master_port',
            free_port(),
            TRAIN,
            DEMO,
            '--launcher',
            'pytorch',
            '--work-dir',
            work,
        ]
        + cli(options)
    )
    assert 'Distributed training: True' in out and 'Iter(train) [3/3]' in out
    # a redraw hitting a corrupt file again would add to the count; the seeds fix the draws
    assert corrupt_counts(work) == {1: 0, 2: 3, 3: 3}
