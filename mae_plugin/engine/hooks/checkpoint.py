"""Checkpoints that are never lost or bad.

Atomic writes, old files deleted only after the new one, no non-finite weight written
(``FiniteWeightsHook``).

MMEngine 0.10.7's ``CheckpointHook`` deletes the oldest kept checkpoint (and the previous best)
*before* writing the new one, and writes in place: a NaN refused at save time, or a kill during
the write, can leave no complete checkpoint at all. ``AtomicCheckpointHook`` keeps every option of
the stock hook and changes the order and the writes:

1. the new checkpoint is written to ``<name>.partial``, fsynced and renamed (the
   ``mae_atomic_local`` file backend); ``FiniteWeightsHook`` refuses non-finite weights before
   anything is written;
2. then ``last_checkpoint`` is replaced atomically;
3. only then are the checkpoints that ``max_keep_ckpts`` (or a new best) drops deleted (with
   the sharded folder ``MAEFSDP2Strategy`` writes beside each).

An error on one rank during a save (rank 0 alone writes) stops every rank with its message
(``training/ranks.py``), instead of leaving the others waiting in the next collective.
"""

from __future__ import annotations

import os.path as osp
from typing import Any

import torch
from mmengine.dist import get_dist_info, is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook, Hook

from ...fileio import atomic_write_bytes, atomic_write_text
from ...training.ranks import every_rank_agrees
from ..registry import HOOKS
from ..runtime.sharded_checkpoint import sharded_folder

ATOMIC_BACKEND = 'mae_atomic_local'


def gathered_for_save(runner, gathered_at: int | None, what: str) -> bool:
    """Whether a hook's per-rank state was gathered for the checkpoint being written.

    That is, its ``before_save_checkpoint_on_every_rank`` ran at this iteration. On one process
    False: the hook reads its own state.

    Raises:
        RuntimeError: several processes and an ungathered save, naming ``what``: the stock save
            runs on rank 0 alone, too late for a collective.
    """
    if gathered_at == runner.iter:
        return True
    if get_dist_info()[1] > 1:
        raise RuntimeError(
            f'checkpoint at iteration {runner.iter}: {what} of the other ranks were not '
            "gathered; save with 'AtomicCheckpointHook' (the plugin's configs do), which "
            'gathers them on every rank first'
        )
    return False


@HOOKS.register_module()
class FiniteWeightsHook(Hook):
    """Refuse to write a checkpoint whose model weights hold NaN or Inf.

    The model already stops on a non-finite loss; this is the last guard before disk.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise a FloatingPointError naming the first non-finite weight of ``checkpoint``."""
        for key, value in checkpoint.get('state_dict', {}).items():
            if (
                torch.is_tensor(value)
                and value.is_floating_point()
                and not bool(torch.isfinite(value).all())
            ):
                at = checkpoint.get('meta', {}).get('iter', runner.iter)  # as the file's name
                raise FloatingPointError(
                    f'checkpoint not written at iteration {at}: weight {key!r} holds '
                    'non-finite values'
                )


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend whose writes are atomic (temp file, fsync, rename)."""

    def put(self, obj: bytes, filepath: Any) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Any, encoding: str = 'utf-8') -> None:
        """Write ``obj`` encoded with ``encoding`` to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), filepath)


class _DeferredRemovals:
    """A file backend whose ``remove``/``rmtree`` wait in ``pending`` until ``flush``."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self.pending.append(path)

    def rmtree(self, path: str) -> None:
        self.pending.append(path)

    def flush(self, keep: set[str]) -> None:
        for path in self.pending:
            if path in keep:  # the same name was just written again
                continue
            if self._backend.isfile(path):
                self._backend.remove(path)
            elif self._backend.isdir(path):
                self._backend.rmtree(path)
        self.pending.clear()


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that never leaves the run without a complete checkpoint.

    See the module docstring. Local folders only use the atomic backend; a ``backend_args`` of
    your own (a remote store) is kept as given.
    """

    def __init__(self, *args: Any, backend_args: dict | None = None, **kwargs: Any) -> None:
        out_dir = kwargs.get('out_dir')
        remote = isinstance(out_dir, str) and '://' in out_dir
        if backend_args is None and not remote and kwargs.get('file_client_args') is None:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        # The stock bookkeeping, reordered: save, then name it in last_checkpoint, then delete.
        dropped = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            # recorded before saving, so that the checkpoint itself lists what it keeps
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with every_rank_agrees('another rank failed to write the checkpoint'):
            # collectives a checkpoint needs (ShardStreamStateHook) run here, where every rank
            # is; Runner.save_checkpoint and its before_save_checkpoint run on rank 0 alone
            runner.call_hook('before_save_checkpoint_on_every_rank')
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
            if is_main_process():
                self._name_and_drop(runner, dropped)

    def _name_and_drop(self, runner, dropped: list[int]) -> None:
        atomic_write_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old in dropped:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            # the file, then MAEFSDP2Strategy's shards beside it, if any
            for each in (path, sharded_folder(path)):
                if self.file_backend.isfile(each):
                    self.file_backend.remove(each)
                elif self.file_backend.isdir(each):
                    self.file_backend.rmtree(each)

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        # The stock method removes the previous best before writing the new one: hold the
        # removals back until every write of this call is complete.
        with every_rank_agrees('another rank failed to write the checkpoint'):
            runner.call_hook('before_save_checkpoint_on_every_rank')  # as in the method above
            backend = self.file_backend
            deferred = self.file_backend = _DeferredRemovals(backend)
            try:
                super()._save_best_checkpoint(runner, metrics)
            finally:
                self.file_backend = backend
            if is_main_process():
                written = {
                    self.last_ckpt,
                    getattr(self, 'best_ckpt_path', None),
                    *getattr(self, 'best_ckpt_path_dict', {}).values(),
                }
                deferred.flush(keep={p for p in written if p})
