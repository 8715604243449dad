"""MAEDataModule: image folders and lightly's LightlyDataset through the shared transforms; an
unreadable image an error naming it under ``on_corrupt='error'``, a missing or empty data folder
and data settings that differ from the model are errors; deep (16-bit, 32-bit) images keep
their contrast in the dataset and in the reconstruction images."""

import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import mae_plugin  # noqa: F401
from mae_plugin.data.image import CorruptImageError
from mae_plugin.engine.hooks.reconstruction import ReconstructionVisHook
from mae_plugin.lightning import MAEDataModule
from mae_plugin.lightning.callbacks import ReconstructionCallback
from tests.helpers.lightning_runs import tiny_cli
from tests.helpers.models import tiny_mae
from tests.helpers.ramps import (
    PRETRAIN,
    assert_close,
    assert_ramp,
    build_dataset,
    seeded,
)


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


def test_lightning_dataset_and_reconstruction_images_keep_the_contrast(roots):
    deep_root, twin_root, _ = roots
    modules = [
        MAEDataModule(root, img_size=64, patch_size=8, num_workers=0)
        for root in (deep_root, twin_root)
    ]
    for module in modules:
        module.setup('fit')
    for seed in range(2):
        crop = seeded(seed, modules[0].train_set)
        assert_close(crop, seeded(seed, modules[1].train_set))
        assert_ramp(crop, min_span=90)  # the demo's scale (0.2, 1)
    # the images the reconstruction callback (Lightning) and hook (MMEngine) draw
    module = SimpleNamespace(mae=tiny_mae(64, 8))
    pictures = []
    for data, root in zip(modules, (deep_root, twin_root), strict=True):
        callback = ReconstructionCallback(num_images=2).fixed_batch(
            SimpleNamespace(datamodule=data), module
        )[0]
        dataset = build_dataset(PRETRAIN, 'train_dataloader', root)
        runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset))
        hook = ReconstructionVisHook(num_images=2)._fixed_batch(runner, module)[0]
        pictures.append((callback, hook))
    for deep_images, twin_images in zip(*pictures, strict=True):
        for image, twin_image in zip(deep_images, twin_images, strict=True):
            assert_close(image, twin_image)
            assert_ramp(image)


@pytest.mark.parametrize('source', ['folder', 'lightly'])
def test_a_missing_or_empty_data_folder_is_an_error_naming_it(tmp_path, source):
    missing = tmp_path / 'nowhere'
    cli = tiny_cli(tmp_path / 'run', str(missing), '--data.source', source)
    with pytest.raises(FileNotFoundError, match=str(missing / 'train')):
        cli.datamodule.setup('fit')
    (tmp_path / 'empty' / 'train').mkdir(parents=True)
    cli = tiny_cli(tmp_path / 'run', str(tmp_path / 'empty'), '--data.source', source)
    with pytest.raises(ValueError, match=str(tmp_path / 'empty' / 'train') + '.* no images'):
        cli.datamodule.setup('fit')


def test_data_settings_that_differ_from_the_model_are_an_error(tmp_path, demo_root):
    from mae_plugin.lightning import MAEDataModule

    cli = tiny_cli(tmp_path, demo_root)
    data = MAEDataModule(demo_root, img_size=64, patch_size=16)
    with pytest.raises(
        ValueError,
        match=r'data \(img_size, patch_size, mask_ratio\) = '
        r'\(64, 16, 0.75\) differ .* \(64, 8, 0.75\)',
    ):
        data.check_model(cli.model.mae)
