"""An error that one rank finds stops every rank, with that rank's message.

A raise on one rank alone (rank 0 alone writes a checkpoint; MMEngine's strict load raises on
rank 0 only) leaves the others waiting in the next collective until the backend's timeout, or
going on with what that rank refused. Where every rank passes the same point, each hands what it
caught to :func:`agree_or_raise`.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
import torch.distributed as dist

MESSAGE_BYTES = 4096  # of each rank's message handed to the others
F = TypeVar('F', bound=Callable[..., Any])


def _device() -> torch.device:
    """Where the default group's collectives take tensors (the current GPU under NCCL)."""
    if dist.get_backend() == 'nccl':
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def _error_type(name: str) -> type[Exception]:
    """The builtin exception class called ``name`` (every rank raises alike), else RuntimeError."""
    kind = getattr(builtins, name, None)
    return kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError


def agree_or_raise(error: BaseException | None, what: str = 'another rank failed') -> None:
    """Raise on every rank when any rank raised (collective: every rank calls it).

    The rank that failed raises its own ``error``; the others raise an error of the same builtin
    type (``RuntimeError`` for any other) saying ``what``, which rank failed and its message.
    Costs one all-reduce of one number; the messages travel only after a failure.
    """
    if not (dist.is_available() and dist.is_initialized()):
        if error is not None:
            raise error
        return
    device = _device()
    failed = torch.tensor([0 if error is None else 1], device=device)
    dist.all_reduce(failed)
    if int(failed.item()) == 0:
        return
    text = '' if error is None else f'{type(error).__name__}\n{error}'
    data = bytearray(text.encode('utf-8')[:MESSAGE_BYTES])
    mine = torch.zeros(MESSAGE_BYTES, dtype=torch.uint8, device=device)
    if data:
        mine[: len(data)] = torch.frombuffer(data, dtype=torch.uint8).to(device)
    every = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(every, mine)
    if error is not None:
        raise error
    for rank, message in enumerate(every):
        raw = bytes(message.cpu().tolist()).rstrip(b'\0')
        if raw:
            name, _, said = raw.decode('utf-8', errors='replace').partition('\n')
            raise _error_type(name)(f'{what}: rank {rank} raised {name}: {said}')
    raise RuntimeError(f'{what} (its message was empty)')


@contextmanager
def every_rank_agrees(what: str = 'another rank failed') -> Iterator[None]:
    """Raise an exception raised inside on any rank on every rank as they leave.

    See :func:`agree_or_raise`. Every rank must enter: the exit is a collective.
    """
    error = None
    try:
        yield
    except Exception as err:  # noqa: BLE001  (raised on every rank below)
        error = err
    agree_or_raise(error, what)


def on_every_rank(what: str) -> Callable[[F], F]:
    """Decorate a method every rank calls so that what it raises on one rank, every rank raises.

    For e.g. a runner's checkpoint loading; see :func:`every_rank_agrees`.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def agreed(*args: Any, **kwargs: Any) -> Any:
            with every_rank_agrees(what):
                return fn(*args, **kwargs)

        return agreed  # type: ignore[return-value]

    return decorate


def end_process_group() -> None:
    """Wait for every rank, then destroy the default process group (no-op without one).

    Called once a run has finished on every rank. A process that exits with the group alive can
    abort (SIGABRT, 'terminate called without an active exception') after its work is done: gloo's
    worker threads still hold finished work when the interpreter tears down. The barrier first
    makes sure no rank closes its connections while another still reads from them.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
