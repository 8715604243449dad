"""Data faults during a run: files that vanish or turn unreadable after the scan."""
import os

import pytest
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from mae_plugin.engine.transforms import CorruptImageError
from tests.engine.test_data import dataset, make_folder


def test_files_gone_or_unreadable_after_the_scan_are_skipped_and_counted(tmp_path, demo_root):
    root = make_folder(tmp_path, demo_root, {
        f'train/{i}.jpg': name for i, name in enumerate(
            ('astronaut', 'coffee', 'chelsea', 'rocket', 'moon', 'coins'))})
    ds = dataset(root)
    strict = dataset(root, on_corrupt='error')
    train = tmp_path / 'train'
    os.remove(train / '1.jpg')                 # deleted
    os.remove(train / '2.jpg')
    os.mkdir(train / '2.jpg')                  # a folder in its place: unreadable, root or not
    bad = {1, 2}
    if os.geteuid() != 0:                      # root reads through chmod 000
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

