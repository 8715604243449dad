"""The training forward traces as one graph: the keep count comes from the config, and a mask
keeping another count is still an error (on the host for CPU masks, on the device in a graph)."""

import pytest
import torch

from mae_plugin.models.masking import batch_random_mask, make_mask
from tests.helpers.models import tiny_mae


def pipeline_masks(count: int, ratio: float = 0.75) -> torch.Tensor:
    """(count, 16) masks as the data pipeline draws them for a 32-px, 8-px-patch model."""
    return torch.stack([make_mask('random', (4, 4), ratio) for _ in range(count)])


@pytest.mark.parametrize('with_mask', [True, False])
def test_core_forward_has_no_graph_break(with_mask):
    mae = tiny_mae()
    images = torch.randn(2, 3, 32, 32)
    mask = pipeline_masks(2) if with_mask else None
    report = torch._dynamo.explain(lambda x, m: mae(x, m).loss)(images, mask)
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


def test_compiled_forward_equals_eager():
    torch.manual_seed(0)
    mae = tiny_mae()
    images, mask = torch.randn(2, 3, 32, 32), pipeline_masks(2)
    compiled = torch.compile(lambda x, m: mae(x, m).loss, backend='eager', fullgraph=True)
    assert torch.equal(compiled(images, mask), mae(images, mask).loss)


def test_a_mask_keeping_another_count_names_the_counts():
    mae = tiny_mae()  # 16 patches at 0.75: keeps 4
    images = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r'= 4 of its 16 patches, got \[8, 8\]'):
        mae(images, batch_random_mask(2, 16, 0.5))
    mask = pipeline_masks(2)
    mask[1, torch.nonzero(mask[1])[0]] = False  # row 1 keeps 5
    with pytest.raises(ValueError, match=r'got \[4, 5\]'):
        mae(images, mask)


def test_a_wrong_count_inside_a_graph_fails_on_the_device():
    mae = tiny_mae()
    compiled = torch.compile(lambda x, m: mae(x, m).loss, backend='eager', fullgraph=True)
    with pytest.raises(RuntimeError, match=r'num_visible\(L, mask_ratio\) = 4 of its 16'):
        compiled(torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.5))


def test_an_explicit_count_serves_masks_of_another_ratio():
    mae = tiny_mae()
    out = mae(torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.5), num_visible=8)
    assert out.pred.shape == (2, 16, 192)


def test_bf16_autocast_forward_has_no_graph_break():
    mae = tiny_mae()

    def loss(images, mask):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return mae(images, mask).loss

    report = torch._dynamo.explain(loss)(torch.randn(2, 3, 32, 32), pipeline_masks(2))
    assert report.graph_break_count == 0, report.break_reasons
