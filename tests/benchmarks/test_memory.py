"""benchmarks/memory.py: the formulas of docs/scaling.md, on the recipe's ViT-B."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from benchmarks.memory import memory_model
from mae_plugin.engine.registry import MODELS

VIT_B = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    'configs',
    'mae_vit-b_800e.py',
)


def test_vit_b_counts_and_activations_follow_the_formulas():
    DefaultScope.get_instance('test_memory', scope_name='mae_plugin')
    with torch.device('meta'):
        m = memory_model(MODELS.build(Config.fromfile(VIT_B).model).mae)
    # encoder 85.80 M + decoder; frozen: the two sin-cos tables (197 x 768, 197 x 512)
    assert m.params == 111_907_840 and m.params - m.trained == 197 * (768 + 512)
    # 12 blocks x 50 tokens x 2 x (9 x 768 + 2 x 3072) + 8 x 197 x 2 x (9 x 512 + 2 x 2048)
    assert m.activations_per_image == 12 * 50 * 26112 + 8 * 197 * 17408
    assert m.checkpointed_per_image == 12 * 50 * 2 * 768 + 8 * 197 * 2 * 512 + 197 * 17408
    assert m.states() == 4 * m.params + 12 * m.trained
    block = 12 * 768 * 768 + 13 * 768  # qkv, proj, fc1, fc2 weights and biases, two norms
    assert m.largest_block == block
    assert m.states(8, sharded=True) == pytest.approx(m.states() / 8 + 10 * block)
