"""Test callbacks, given to CLI runs as
``--trainer.callbacks+=tests.helpers.scripts.lightning_probes.X``."""

import json
import os
import signal

import pytorch_lightning as pl
import torch


class DDPProbe(pl.Callback):
    """Records on every rank, at the first optimizer step: one weight's local gradient (before
    DDP averages it), the gradient the optimizer steps with, the first batch's masks and the
    lr; and the final weights. Written to ``<out>/probe_rank<R>.pt``."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.record = {}

    def on_train_start(self, trainer, pl_module) -> None:
        def local(param) -> None:  # this rank's gradient, before DDP's all-reduce replaces it
            self.record.setdefault('local', param.grad.detach().clone())

        pl_module.mae.decoder.pred.weight.register_post_accumulate_grad_hook(local)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        # Lightning runs forward and backward inside optimizer.step(closure): this hook is
        # where the gradient the step uses is final
        grad = pl_module.mae.decoder.pred.weight.grad
        self.record.setdefault('stepped', grad.detach().clone())

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.record.setdefault('mask', batch['data_samples']['mask'].clone())

    def on_train_end(self, trainer, pl_module) -> None:
        self.record['state'] = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        os.makedirs(self.out, exist_ok=True)
        torch.save(self.record, os.path.join(self.out, f'probe_rank{trainer.global_rank}.pt'))


class _KillWhenPickled:
    """Sends SIGKILL to its own process when ``torch.save`` reaches it."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)


class KillDuringSave(pl.Callback):
    """kill -9 the run in the middle of writing the checkpoint of optimizer step ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.global_step == self.at:
            checkpoint['zz_kill'] = _KillWhenPickled()


class StepRecorder(pl.Callback):
    """Appends ``{"step", "lr"}`` of every batch, and the weights at the start of training, to
    ``<out>`` (JSON lines) and ``<out>.start.pt``."""

    def __init__(self, out: str) -> None:
        self.out = out

    def on_train_start(self, trainer, pl_module) -> None:
        torch.save(
            {'step': trainer.global_step, 'state': pl_module.state_dict()}, self.out + '.start.pt'
        )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        with open(self.out, 'a') as f:
            f.write(
                json.dumps(
                    {'step': trainer.global_step, 'lr': trainer.optimizers[0].param_groups[0]['lr']}
                )
                + '\n'
            )


class ShardProbe(pl.Callback):
    """Records on every rank, at the start of training, how many parameter elements the rank
    holds itself (FSDP2: the local shards of DTensors) and whether every block's parameters
    are DTensors. Written to ``<out>/rank<R>.pt``."""

    def __init__(self, out: str) -> None:
        self.out = out

    def on_train_start(self, trainer, pl_module) -> None:
        from torch.distributed.tensor import DTensor

        params = list(pl_module.mae.parameters())
        record = {
            'local': sum((p.to_local() if isinstance(p, DTensor) else p).numel() for p in params),
            'sharded': all(isinstance(p, DTensor) for p in params),
        }
        os.makedirs(self.out, exist_ok=True)
        torch.save(record, os.path.join(self.out, f'rank{trainer.global_rank}.pt'))
