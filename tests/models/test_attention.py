"""Attention under CPU bf16 runs in fp32 (models/attention.py), in the forward and in the
recomputation of checkpointed blocks; fp32 and GPU attention pass through untouched."""

import pytest
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from mae_plugin.models.masking import batch_random_mask
from tests.helpers.models import demo_mae


class AttentionDtypes(TorchFunctionMode):
    """Records the query dtype of every SDPA call that reaches torch (the plugin's mode, entered
    inside the forward, hands its fp32 call on to this outer one)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.scaled_dot_product_attention:
            self.seen.append(args[0].dtype)
        return func(*args, **(kwargs or {}))


def small_mae(grad_checkpointing=False):
    """2 encoder blocks + 1 decoder block: 3 attention calls a forward."""
    torch.manual_seed(0)
    mae = demo_mae(img_size=32)
    mae.encoder.grad_checkpointing = mae.decoder.grad_checkpointing = grad_checkpointing
    return mae


@pytest.mark.parametrize('autocast', [True, False], ids=['bf16-autocast', 'fp32'])
def test_every_attention_of_the_mae_runs_in_fp32_on_the_cpu(autocast):
    mae, x = small_mae(), torch.randn(2, 3, 32, 32)
    spy = AttentionDtypes()
    with spy, torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        out = mae(x, batch_random_mask(2, 16, 0.75))
    assert spy.seen == [torch.float32] * 3  # 2 encoder + 1 decoder blocks
    assert out.pred.dtype == (torch.bfloat16 if autocast else torch.float32)


def test_the_stock_bf16_kernel_is_what_runs_without_the_plugin_mode():
    # the spy sees bf16 when the blocks run outside the plugin's context: autocast alone
    mae, x = small_mae(), torch.randn(2, 5, 48)
    spy = AttentionDtypes()
    with spy, torch.autocast('cpu', dtype=torch.bfloat16):
        mae.encoder.vit.blocks(x)
    assert spy.seen == [torch.bfloat16] * 2


def test_checkpointed_blocks_recompute_the_fp32_attention_of_the_forward():
    # a context around checkpoint_seq is gone when backward recomputes the blocks: the
    # recomputation would run autocast's bf16 attention and the gradients would differ
    x, mask = torch.randn(2, 3, 32, 32), batch_random_mask(2, 16, 0.75)
    grads = []
    for checkpointing in (False, True):
        mae, calls = small_mae(checkpointing), []
        for block in [*mae.encoder.vit.blocks, *mae.decoder.blocks]:
            block.attn.register_forward_hook(lambda *_, seen=calls: seen.append(1))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = mae(x, mask).loss
        loss.backward()
        assert len(calls) == (6 if checkpointing else 3)  # recomputed in backward
        grads.append((loss, {k: p.grad for k, p in mae.named_parameters() if p.requires_grad}))
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=0, atol=0)
    for name, grad in grads[0][1].items():
        torch.testing.assert_close(grads[1][1][name], grad, rtol=0, atol=0, msg=name)
