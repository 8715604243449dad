"""MAEDataModule: image folders and lightly's LightlyDataset through the shared transforms;
unreadable images skipped and counted in the logged metrics, across ranks and resumes."""

import os
import shutil

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from mae_plugin.data.image import CorruptImageError
from mae_plugin.lightning import MAEDataModule
from tests.helpers.lightning_runs import checkpoint_every, tiny_cli


@pytest.fixture
def with_corrupt(tmp_path, demo_root):
    """data_root with 6 photographs and 2 unreadable files in train/ (8 = 2 batches of 4)."""
    train = tmp_path / 'data' / 'train'
    train.mkdir(parents=True)
    for name in sorted(os.listdir(os.path.join(demo_root, 'train')))[:6]:
        shutil.copy(os.path.join(demo_root, 'train', name), train / name)
    (train / 'bad_text.jpg').write_text('not an image')
    photo = (train / sorted(os.listdir(train))[0]).read_bytes()
    (train / 'bad_truncated.jpg').write_bytes(photo[:200])
    return str(tmp_path / 'data')


class SkipCounter(pl.Callback):
    """Running total of the skips the batches report."""

    def __init__(self):
        self.totals = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        before = self.totals[-1] if self.totals else 0
        self.totals.append(before + int(batch['data_samples']['num_skipped'].sum()))


def test_unreadable_images_are_skipped_and_counted_in_the_logged_metrics(tmp_path, with_corrupt):
    run = tmp_path / 'run'
    cli = tiny_cli(run, with_corrupt, callbacks=[checkpoint_every(2)])
    counter = SkipCounter()
    cli.trainer.callbacks.append(counter)
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == 4 and len(counter.totals) == 4
    assert counter.totals[-1] >= 4  # each corrupt file is drawn once per epoch, 2 epochs
    # distinct files, not reads (tests/lightning/test_unreadable.py)
    assert cli.trainer.callback_metrics['corrupt_images'] == 2
    at_2 = torch.load(run / 'checkpoints' / 'step_2.ckpt', weights_only=True)
    assert len(at_2['corrupt_images']) == 2  # their names; the first epoch met both
    # resumed from step 2, the count goes on from the checkpoint's
    again = tiny_cli(run, with_corrupt, callbacks=[checkpoint_every(2)])
    more = SkipCounter()
    again.trainer.callbacks.append(more)
    again.trainer.fit(again.model, again.datamodule, ckpt_path=run / 'checkpoints' / 'step_2.ckpt')
    assert len(more.totals) == 2
    assert again.trainer.callback_metrics['corrupt_images'] == 2


def test_resuming_with_another_schedule_is_refused(tmp_path, with_corrupt):
    cli = tiny_cli(tmp_path, with_corrupt, callbacks=[checkpoint_every(2)])
    cli.trainer.fit(cli.model, cli.datamodule)
    longer = tiny_cli(
        tmp_path, with_corrupt, '--trainer.max_epochs', '3', callbacks=[checkpoint_every(2)]
    )
    with pytest.raises(ValueError, match=r'another schedule.*total_steps: 4 -> 6'):
        longer.trainer.fit(longer.model, longer.datamodule, ckpt_path='last')


def test_on_corrupt_error_raises_naming_the_file(tmp_path, with_corrupt):
    cli = tiny_cli(tmp_path / 'run', with_corrupt, '--data.on_corrupt', 'error')
    cli.datamodule.setup('fit')
    names = [os.path.basename(p) for p, _ in cli.datamodule.train_set.samples]
    with pytest.raises(CorruptImageError, match='bad_text.jpg'):
        cli.datamodule.train_set[names.index('bad_text.jpg')]


def test_lightly_dataset_gives_the_images_and_labels_of_the_folder_scan(tmp_path, demo_root):
    from lightly.data import LightlyDataset

    for split in ('train', os.path.join('knn', 'train')):  # flat, and with class folders
        folder = MAEDataModule(demo_root, split=split, img_size=64, patch_size=8)
        by_name = MAEDataModule(demo_root, split=split, source='lightly', img_size=64, patch_size=8)
        built = MAEDataModule.from_lightly(
            LightlyDataset(os.path.join(demo_root, split)), img_size=64, patch_size=8
        )
        expected = sorted(folder.scan())
        labels = {label for _, label in expected}
        for module in (by_name, built):
            got = sorted(module.scan())
            assert [p for p, _ in got] == [p for p, _ in expected]
            if labels != {-1}:  # class folders: the same numbering
                assert got == expected
    built.setup('fit')
    torch.manual_seed(0)
    np.random.seed(0)
    sample = built.train_set[3]
    assert sample['inputs'].shape == (3, 64, 64) and sample['inputs'].dtype == torch.uint8
    assert sample['data_samples']['mask'].shape == (64,)


def test_the_data_module_loads_and_crops_in_one_transform(demo_root):
    """The fast path (box from the header, reduced-scale JPEG decode) is the default."""
    from mae_plugin.data import MAELoadRandomResizedCrop

    data = MAEDataModule(demo_root, img_size=64, patch_size=8, crop_scale=(0.3, 1.0))
    crop = data.transforms[0]
    assert isinstance(crop, MAELoadRandomResizedCrop)
    assert (crop.size, crop.scale, crop.interpolation) == ((64, 64), (0.3, 1.0), 'bicubic')


def test_a_lightly_dataset_without_image_files_is_an_error_naming_it():
    from lightly.data import LightlyDataset

    wrapped = LightlyDataset.from_torch_dataset(torch.utils.data.TensorDataset(torch.zeros(4, 3)))
    with pytest.raises(ValueError, match='without a file per sample'):
        MAEDataModule.from_lightly(wrapped).scan()


def test_loader_workers_of_two_ranks_draw_their_own_masks(demo_root):
    """torch seeds each worker from the main process' generator, which seed_everything makes
    the same on every rank: without the rank in the worker seed, worker 0 of every rank would
    draw the same crops and masks."""
    from types import SimpleNamespace

    masks = []
    for rank in (0, 1):
        data = MAEDataModule(
            demo_root,
            img_size=64,
            patch_size=8,
            batch_size=4,
            num_workers=1,
            persistent_workers=False,
        )
        data.trainer = SimpleNamespace(
            global_rank=rank,
            world_size=2,
            strategy=SimpleNamespace(root_device=torch.device('cpu')),
        )
        data.setup('fit')
        torch.manual_seed(0)  # what seed_everything(0) leaves on every rank
        masks.append(next(iter(data.train_dataloader()))['data_samples']['mask'])
    assert not torch.equal(masks[0], masks[1])
