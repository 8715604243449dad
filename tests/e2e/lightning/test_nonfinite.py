"""Lightning follows the plugin's one non-finite rule: a non-finite loss or gradient skips the
optimizer step on the device (weights and AdamW state untouched), is counted in the logged
``skipped_steps``, and ``max_consecutive_skips`` in a row stop training, naming the steps."""

import pytest
import pytorch_lightning as pl
import torch

from tests.helpers.lightning_runs import run_cli, tiny_args, tiny_cli


class Poison(pl.Callback):
    """NaN in the decoder's output (the loss) at the 0-based optimizer steps ``loss_at``, or in
    one weight's gradient with a finite loss at ``grad_at``; records, per 1-based step, whether
    any weight or AdamW state changed."""

    def __init__(self, loss_at=(), grad_at=()):
        self.loss_at, self.grad_at = set(loss_at), set(grad_at)
        self.loss_now = self.grad_now = False
        self.changed, self.losses = {}, {}

    def on_fit_start(self, trainer, pl_module):
        self.module = pl_module
        pred = pl_module.mae.decoder.pred
        pred.register_forward_hook(lambda m, a, out: out * float('nan') if self.loss_now else out)
        pred.weight.register_hook(lambda g: g * float('nan') if self.grad_now else g)
        self.first = self.weights()

    def weights(self):
        return [p.detach().clone() for p in self.module.parameters()]

    def state(self, trainer):
        """Weights and AdamW's moments and step counts (once it has any)."""
        opt = trainer.optimizers[0].state
        return self.weights() + [v.clone() for s in opt.values() for v in s.values()]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        step = trainer.global_step
        self.loss_now, self.grad_now = step in self.loss_at, step in self.grad_at
        self.before = self.state(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        after = self.state(trainer)  # AdamW's state appears at the first step, even skipped
        self.changed[trainer.global_step] = not all(
            torch.equal(a, b) for a, b in zip(self.before, after, strict=False)
        )
        self.losses[trainer.global_step] = float(outputs['loss'])


def fit(tmp_path, demo_root, poison, *extra):
    cli = tiny_cli(tmp_path, demo_root, *extra, callbacks=[])
    cli.trainer.callbacks.append(poison)
    cli.trainer.fit(cli.model, cli.datamodule)
    return cli


@pytest.mark.slow
@pytest.mark.parametrize('where', ['loss', 'grad'])
def test_a_non_finite_loss_or_gradient_skips_the_step_and_is_counted(tmp_path, demo_root, where):
    poison = Poison(**{f'{where}_at': [2, 6]})
    cli = fit(tmp_path, demo_root, poison)
    assert cli.trainer.global_step == 10  # trained on
    del poison.changed[1]  # lr 0 at the first step of the warm-up: nothing moves
    assert poison.changed == {i: i not in (3, 7) for i in range(2, 11)}
    if where == 'grad':  # the loss was finite: only the gradient was NaN
        assert all(torch.isfinite(torch.tensor(v)) for v in poison.losses.values())
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
    assert cli.trainer.logged_metrics['skipped_steps'] == 2


@pytest.mark.slow
def test_a_burst_ended_before_the_check_stops_at_its_fifth_step(tmp_path, demo_root):
    """9 NaN steps then a finite one, checked every 10 steps: stopped naming steps 1 to 5, and
    no weight changed at all (the finite step after the limit is skipped too)."""
    poison = Poison(loss_at=range(9))
    with pytest.raises(
        FloatingPointError,
        match=r'5 optimizer steps in a row \(optimizer steps 1 to 5\); '
        r'max_consecutive_skips=5 was reached at optimizer step 5 \(9 skipped in all\)',
    ):
        # no checkpoint at the epoch's end: its check would stop the run there, at step 5
        fit(
            tmp_path,
            demo_root,
            poison,
            '--model.skip_check_interval',
            '10',
            '--trainer.enable_checkpointing',
            'false',
        )
    assert set(poison.changed) == set(range(1, 11)) and not any(poison.changed.values())
    assert all(torch.equal(a, b) for a, b in zip(poison.first, poison.weights(), strict=True))


@pytest.mark.slow
def test_a_nan_burst_on_one_ddp_rank_stops_every_rank(tmp_path, demo_root):
    """2 CPU processes (DDP, gloo), NaN losses on rank 1 alone at steps 1 to 9, checked every 10
    steps: both ranks skip (the flag is all-reduced) and both stop naming steps 1 to 5."""
    poison = {
        'class_path': 'tests.helpers.scripts.lightning_nan_probe.NaNLossOnRank',
        'init_args': {'steps': list(range(9)), 'rank': 1},
    }
    args = tiny_args(
        tmp_path,
        demo_root,
        '--trainer.accelerator',
        'cpu',
        '--trainer.devices',
        '2',
        '--trainer.strategy',
        'ddp',
        '--trainer.max_epochs',
        '6',
        '--trainer.enable_checkpointing',
        'false',
        '--model.skip_check_interval',
        '10',
        callbacks=[poison],
    )
    code, out = run_cli(['fit', *args], check=False)
    assert code != 0
    stop = '(optimizer steps 1 to 5); max_consecutive_skips=5 was reached at optimizer step 5'
    for rank in (0, 1):
        assert f'[rank{rank}]: FloatingPointError' in out, out[-4000:]
    assert out.count(stop) >= 2, out[-4000:]
