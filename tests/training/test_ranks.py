"""An error one rank finds stops every rank (``training/ranks.py``): checked on 2 gloo ranks
started by ``torch.multiprocessing.spawn``, where the rank that failed raises its own error and
the other an error of the same builtin type naming the rank and its message; without a process
group, the error is raised as it is."""

import json

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from mae_plugin.training.ranks import (
    MESSAGE_BYTES,
    agree_or_raise,
    end_process_group,
    every_rank_agrees,
    on_every_rank,
)
from tests.helpers.ports import free_port
from tests.helpers.shared import built_once


class ChecksumError(Exception):
    """Not a builtin: another rank cannot build it, it gets a RuntimeError."""


def _outcome(call):
    """What ``call()`` raised, as [type name, message], or None."""
    try:
        call()
    except Exception as err:  # noqa: BLE001  (the outcome is the test's subject)
        return [type(err).__name__, str(err)]
    return None


def _rank(rank, port, out):
    dist.init_process_group('gloo', f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    mine = {
        'none': None,
        'one': ValueError('bad key x') if rank == 1 else None,
        'custom': ChecksumError('sum 3 != 4') if rank == 0 else None,
        'both': KeyError(f'key of rank {rank}'),
        'long': OSError('é' * MESSAGE_BYTES) if rank == 1 else None,
    }
    got = {name: _outcome(lambda e=e: agree_or_raise(e, 'load')) for name, e in mine.items()}

    def inside():
        with every_rank_agrees('save'):
            if rank == 0:
                raise FileNotFoundError('iter_2.pth')

    got['context'] = _outcome(inside)

    @on_every_rank('step')
    def fine():
        return rank * 10

    got['decorated'] = fine()
    end_process_group()
    got['group_left'] = dist.is_initialized()
    with open(f'{out}/rank{rank}.json', 'w') as f:
        json.dump(got, f)


def _spawn_two_ranks(out):
    mp.spawn(_rank, args=(free_port(), str(out)), nprocs=2)


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    # once per test run, not per xdist worker: each spawned rank imports the package (~5 s)
    out = built_once(tmp_path_factory, 'training-ranks', _spawn_two_ranks)
    return [json.loads((out / f'rank{rank}.json').read_text()) for rank in (0, 1)]


def test_no_error_anywhere_raises_nothing_and_a_decorated_call_returns(two_ranks):
    assert [r['none'] for r in two_ranks] == [None, None]
    assert [r['decorated'] for r in two_ranks] == [0, 10]


def test_the_failing_rank_raises_its_own_and_the_other_the_same_builtin_naming_it(two_ranks):
    zero, one = two_ranks
    assert one['one'] == ['ValueError', 'bad key x']
    assert zero['one'] == ['ValueError', 'load: rank 1 raised ValueError: bad key x']
    assert zero['context'] == ['FileNotFoundError', 'iter_2.pth']
    assert one['context'] == [
        'FileNotFoundError',
        'save: rank 0 raised FileNotFoundError: iter_2.pth',
    ]


def test_an_error_type_that_is_not_builtin_reaches_the_others_as_a_runtime_error(two_ranks):
    zero, one = two_ranks
    assert zero['custom'] == ['ChecksumError', 'sum 3 != 4']
    assert one['custom'] == ['RuntimeError', 'load: rank 0 raised ChecksumError: sum 3 != 4']


def test_each_failing_rank_raises_its_own_error(two_ranks):
    assert [r['both'] for r in two_ranks] == [
        ['KeyError', "'key of rank 0'"],
        ['KeyError', "'key of rank 1'"],
    ]


def test_a_long_message_is_cut_to_its_first_bytes_and_the_group_is_ended(two_ranks):
    zero, one = two_ranks
    assert one['long'] == ['OSError', 'é' * MESSAGE_BYTES]
    kind, text = zero['long']
    said = text.removeprefix('load: rank 1 raised OSError: ')
    assert kind == 'OSError' and said.startswith('é' * 2000)
    sent = len(b'OSError\n') + len(said.encode())  # a cut 'é' decodes to one U+FFFD (3 bytes)
    assert MESSAGE_BYTES <= sent <= MESSAGE_BYTES + 2
    assert [r['group_left'] for r in two_ranks] == [False, False]


def test_without_a_process_group_the_error_is_raised_as_it_is():
    assert not dist.is_initialized()
    error = ValueError('x')
    with pytest.raises(ValueError) as raised:
        agree_or_raise(error)
    assert raised.value is error
    agree_or_raise(None)
    with pytest.raises(KeyError), every_rank_agrees():
        raise KeyError('y')
    end_process_group()  # no group: nothing to end
