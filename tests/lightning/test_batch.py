"""Batches of the Lightning module (``mae_plugin.lightning.batch``): ranks draw other masks
for batches without one, and batches are normalised once whatever their layout."""

import pytest
import torch


def test_ranks_draw_other_masks_for_batches_without_one():
    # seed_everything seeds every rank alike: the masks must still differ between ranks (the
    # official code seeds seed + rank), and repeat for the same seed and rank
    from mae_plugin.lightning.batch import DeviceMasks

    def draw(rank):
        torch.manual_seed(0)
        masks = DeviceMasks()
        return torch.stack([masks(8, 16, 0.75, torch.device('cpu'), rank) for _ in range(2)])

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))
    assert ((~draw(1)).sum(-1) == 4).all()


def test_batches_are_normalised_once_whatever_their_layout():
    from mae_plugin.lightning import MAELightningModule
    from mae_plugin.lightning.batch import unpack_batch

    module = MAELightningModule(
        arch='tiny', img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3
    )
    raw = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    mask = torch.ones(2, 16, dtype=torch.bool)
    normalised = module.normalize(raw)
    batch = {'inputs': raw, 'data_samples': {'mask': mask}}
    images, samples = unpack_batch(batch, module.normalize)
    assert torch.equal(images, normalised) and samples['mask'] is mask
    images, _ = unpack_batch({'inputs': normalised, 'data_samples': {}}, module.normalize)
    assert images is normalised  # float: already normalised, used as it is
    images, samples = unpack_batch(([normalised], torch.zeros(2), ['a', 'b']), module.normalize)
    assert images is normalised and samples == {}
    for bad, message in (
        (([normalised, normalised], None, None), 'with 2 views'),
        (([raw.int()], None, None), 'dtype torch.int32'),
        ({'images': raw}, "keys \\['images'\\]"),
        (raw, 'got a Tensor'),
    ):
        with pytest.raises(TypeError, match=message):
            unpack_batch(bad, module.normalize)
