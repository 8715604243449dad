"""What the monitoring hooks share (``engine/hooks/ranks.py``): the bare model under DDP and
under FSDP2 (its own root), rank 0 computing alone unless the model is sharded, and the model's
input: the official ImageNet normalisation of the 0-1 image, (x / 255 - mean) / std."""

from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from torch.distributed.fsdp import fully_shard

from mae_plugin.engine.hooks.ranks import bare_model, computes_here, is_sharded, normalizer
from tests.helpers.models import tiny_pretrain_model

# the official MAE's transforms.Normalize, on the ToTensor scale (0-1)
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture
def one_rank_group(tmp_path):
    """A gloo process group of this process alone, ended after the test."""
    dist.init_process_group('gloo', f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_the_bare_model_and_who_computes_under_ddp_and_fsdp2(one_rank_group):
    model = tiny_pretrain_model()
    plain = SimpleNamespace(model=model, rank=0)
    assert bare_model(plain) is model and not is_sharded(plain)
    ddp = MMDistributedDataParallel(module=model)
    assert bare_model(SimpleNamespace(model=ddp, rank=0)) is model
    assert computes_here(SimpleNamespace(model=ddp, rank=0))
    assert not computes_here(SimpleNamespace(model=ddp, rank=1))  # rank 0 computes alone
    sharded = fully_shard(tiny_pretrain_model())
    on_rank_1 = SimpleNamespace(model=sharded, rank=1)
    assert is_sharded(on_rank_1) and bare_model(on_rank_1) is sharded
    assert computes_here(on_rank_1)  # every rank runs the forward that gathers the weights


def test_the_input_is_the_official_imagenet_normalisation():
    model = tiny_pretrain_model()
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    got = normalizer(model)(images)
    expected = (images.float() / 255 - IMAGENET_MEAN) / IMAGENET_STD
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
