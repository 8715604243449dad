"""The Lightning FSDP strategy wraps the transformer blocks and writes whole checkpoints."""

import pytest

from mae_plugin.lightning import MAEFSDP2Strategy, MAEFSDPStrategy


def test_fsdp_strategy_wraps_transformer_blocks_and_writes_whole_checkpoints():
    from timm.models.vision_transformer import Block

    strategy = MAEFSDPStrategy(activation_checkpointing=True)
    policy = strategy.kwargs['auto_wrap_policy']  # torch's ModuleWrapPolicy of the set
    assert policy._module_classes == {Block}
    assert strategy._activation_checkpointing_kwargs  # recompute each block in backward
    assert strategy._state_dict_type == 'full'
    with pytest.raises(ValueError, match="state_dict_type='full'"):
        MAEFSDPStrategy(state_dict_type='sharded')
    from pytorch_lightning.strategies import StrategyRegistry

    assert StrategyRegistry['mae_fsdp']['strategy'] is MAEFSDPStrategy
    assert StrategyRegistry['mae_fsdp2']['strategy'] is MAEFSDP2Strategy
    assert StrategyRegistry['mae_fsdp2_activation_checkpointing']['init_params'] == {
        'activation_checkpointing': True
    }
    with pytest.raises(ValueError, match='sets data_parallel_size itself'):
        MAEFSDP2Strategy(data_parallel_size=2)
