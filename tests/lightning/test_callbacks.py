"""The Lightning callbacks: a NaN at save time stops the run and keeps the previous checkpoint."""

import pytest
import pytorch_lightning as pl
import torch

from mae_plugin.checkpoints import load_checkpoint_file
from tests.helpers.lightning_runs import checkpoint_every, tiny_cli


class PoisonAt(pl.Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            with torch.no_grad():
                pl_module.mae.decoder.pred.bias[0] = float('nan')


def test_nan_at_save_time_stops_and_keeps_the_previous_checkpoint(tmp_path, demo_root):
    cli = tiny_cli(tmp_path, demo_root, callbacks=[checkpoint_every(2)])
    cli.trainer.callbacks.insert(0, PoisonAt(4))
    with pytest.raises(FloatingPointError, match=r"step 4: weight 'mae.decoder.pred.bias'"):
        cli.trainer.fit(cli.model, cli.datamodule)
    last = load_checkpoint_file(tmp_path / 'checkpoints' / 'last.ckpt')
    assert last['global_step'] == 2
    assert all(torch.isfinite(v).all() for v in last['state_dict'].values())
