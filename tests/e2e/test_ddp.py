"""Two-process DDP on CPU through MMEngine's runner averages the gradients."""

import os

import pytest
import torch

from tests.helpers.fsdp_runs import ITERS


@pytest.mark.slow
def test_two_process_ddp_on_cpu_averages_gradients(two_node_runs):
    """2 CPU processes on gloo (the DDP run of tests/conftest.py, torchrun as two nodes,
    DDPProbeHook among its hooks): each rank's step uses the mean of both ranks' local
    gradients, both end with identical weights, and the lr counts both processes."""
    work = two_node_runs['ddp']
    out = open(os.path.join(work, 'output.txt')).read()
    assert 'Distributed training: True' in out and f'Iter(train) [{ITERS}/{ITERS}]' in out
    ranks = [
        torch.load(os.path.join(work, f'ddp_probe_rank{r}.pth'), weights_only=True) for r in (0, 1)
    ]
    assert not torch.allclose(ranks[0]['local'], ranks[1]['local'])  # different images
    mean = (ranks[0]['local'] + ranks[1]['local']) / 2
    for rank in ranks:
        torch.testing.assert_close(rank['stepped'], mean)
    for key, value in ranks[0]['state'].items():
        assert torch.equal(value, ranks[1]['state'][key]), key
    # batch 4 x 2 processes x 1 accumulation
    last = torch.load(os.path.join(work, f'iter_{ITERS}.pth'), weights_only=True)
    lr = last['optimizer']['param_groups'][0]['initial_lr']
    assert lr == pytest.approx(1.5e-3 * 8 / 256)
