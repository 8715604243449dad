"""Sharded checkpoints of ``MAEFSDP2Strategy``, beside a consolidated plugin checkpoint.

One ``torch.distributed.checkpoint`` folder per step. ``iter_N.pth`` is the file
``last_checkpoint`` names, in the format of ``MAERunner``'s checkpoints (full ``state_dict`` with
``mae.*`` keys, ``meta``, ``message_hub``, ``param_schedulers``; no optimizer), written by rank 0
atomically: every converter reads it. ``iter_N.pth.sharded/`` holds the model and AdamW state as
each rank's shards (DCP), readable at any world size. The folder is written to ``.partial`` and
renamed before the ``.pth`` is written, so a ``.pth`` on disk always has a complete folder beside
it.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.metadata import TensorStorageMetadata
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from ...fileio import atomic_torch_save, fsync_dir
from ...training.ranks import agree_or_raise as _agree_or_raise

SHARDED_SUFFIX = '.sharded'


def sharded_folder(checkpoint: str | os.PathLike) -> str:
    """The DCP folder that belongs to the consolidated checkpoint file ``checkpoint``."""
    return os.fspath(checkpoint) + SHARDED_SUFFIX


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every weight unsharded on rank 0's CPU (an empty dict on the other ranks)."""
    return get_model_state_dict(
        model, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
    )


def agree_or_raise(error: BaseException | None) -> None:
    """Raise on every rank when any rank raised; the others raise with the failing rank's message.

    ``training/ranks.py``'s, moved there for every runner and strategy. Collective.
    """
    _agree_or_raise(error, 'another rank refused to write the checkpoint')


def save_sharded(
    model: nn.Module, optimizer: torch.optim.Optimizer | None, consolidated: dict, filename: str
) -> None:
    """Write the shards, then the consolidated file, each atomically (collective).

    ``model`` (+ ``optimizer``) shards go to ``sharded_folder(filename)``, then rank 0 writes
    ``consolidated`` to ``filename``. Every rank calls it.
    """
    folder = sharded_folder(filename)
    partial = folder + '.partial'
    state: dict[str, Any] = {'model': get_model_state_dict(model)}
    if optimizer is not None:
        state['optimizer'] = get_optimizer_state_dict(model, optimizer)
    if _rank() == 0 and os.path.isdir(partial):
        shutil.rmtree(partial)  # left by a run killed while saving
    _barrier()
    dcp.save(state, checkpoint_id=partial)
    _barrier()
    if _rank() == 0:
        if os.path.isdir(folder):
            shutil.rmtree(folder)  # the same step saved again (end of training)
        os.replace(partial, folder)
        fsync_dir(os.path.dirname(os.path.abspath(folder)))
        atomic_torch_save(consolidated, filename)
    _barrier()


def check_fits(folder: str, model_state: dict[str, torch.Tensor]) -> None:
    """Raise unless the model in ``folder`` has ``model_state``'s keys and global shapes.

    Global shapes, whatever the world size of either.

    Raises:
        ValueError: listing the keys and shapes by which they differ.
    """
    stored = dcp.FileSystemReader(folder).read_metadata().state_dict_metadata
    saved = {
        key[len('model.') :]: tuple(meta.size)
        for key, meta in stored.items()
        if key.startswith('model.') and isinstance(meta, TensorStorageMetadata)
    }
    wanted = {key: tuple(value.shape) for key, value in model_state.items()}
    missing = sorted(set(wanted) - set(saved))
    unexpected = sorted(set(saved) - set(wanted))
    wrong = sorted(
        f'{k}: checkpoint {saved[k]} vs model {wanted[k]}'
        for k in set(saved) & set(wanted)
        if saved[k] != wanted[k]
    )
    problems = [
        f'{title} ({len(keys)}): {", ".join(keys[:8])}' + (', ...' if len(keys) > 8 else '')
        for title, keys in (
            ('missing from the checkpoint', missing),
            ('not in this model', unexpected),
            ('shape mismatches', wrong),
        )
        if keys
    ]
    if problems:
        raise ValueError(
            f'sharded checkpoint {folder!r} is of another model: ' + '; '.join(problems)
        )


def load_sharded(
    model: nn.Module, optimizer: torch.optim.Optimizer | None, filename: str
) -> dict[str, Any] | None:
    """Load the shards beside ``filename`` into ``model`` strictly, at this world size.

    Returns:
        The optimizer state dict, read and ready for :func:`set_optimizer_state`, or None
        without ``optimizer`` or when the folder holds none.

    Raises:
        FileNotFoundError: no sharded folder beside ``filename``.
        ValueError: the shards are of another model (:func:`check_fits`).
    """
    folder = sharded_folder(filename)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f'{filename!r} has no sharded folder {folder!r} beside it: it is not a checkpoint '
            'of MAEFSDP2Strategy (start from its weights with '
            "model.init_cfg=dict(type='Pretrained', checkpoint=...) instead)"
        )
    state: dict[str, Any] = {'model': get_model_state_dict(model)}
    check_fits(folder, state['model'])
    stored = dcp.FileSystemReader(folder).read_metadata().state_dict_metadata
    if optimizer is not None and any(k.startswith('optimizer.') for k in stored):
        state['optimizer'] = get_optimizer_state_dict(model, optimizer)
    dcp.load(state, checkpoint_id=folder)
    set_model_state_dict(model, state['model'], options=StateDictOptions(strict=True))
    return state.get('optimizer')


def set_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load an optimizer state dict read by :func:`load_sharded`."""
    set_optimizer_state_dict(model, optimizer, state)
