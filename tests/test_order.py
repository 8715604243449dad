"""The suite's order (tests/order.py): longest first by the cached setup + call times, then by
the numbers measured once, then slow before quick; the times of a run merge into the cache,
less the waits for another worker's build of a shared fixture."""

from types import SimpleNamespace

import pytest

from tests.order import CACHE_KEY, MEASURED, WAITED, WORKER_KEY, Durations, Waits, longest_first


class Item:
    def __init__(self, nodeid: str, slow: bool = False):
        self.nodeid, self.slow = nodeid, slow

    def get_closest_marker(self, name):
        return pytest.mark.slow.mark if name == 'slow' and self.slow else None


class Cache(dict):
    def get(self, key, default):
        return super().get(key, default)

    def set(self, key, value):
        self[key] = value


def test_longest_first_by_cache_then_measured_then_the_slow_marker():
    measured = next(iter(MEASURED))
    items = [Item('quick'), Item('slow', slow=True), Item(measured), Item('cached')]
    config = SimpleNamespace(cache=Cache({CACHE_KEY: {'cached': 500.0, 'quick': 0.1}}))
    longest_first(config, items)
    assert [i.nodeid for i in items] == ['cached', measured, 'slow', 'quick']


def test_a_worker_sorts_by_the_controllers_numbers_not_the_cache():
    items = [Item('a'), Item('b')]
    config = SimpleNamespace(
        cache=Cache({CACHE_KEY: {'a': 9.0}}), workerinput={WORKER_KEY: {'b': 1.0}}
    )
    longest_first(config, items)
    assert [i.nodeid for i in items] == ['b', 'a']


def report(when, nodeid, seconds, user_properties=()):
    return SimpleNamespace(
        when=when, nodeid=nodeid, duration=seconds, user_properties=list(user_properties)
    )


def test_setup_and_call_times_merge_into_the_cache_in_the_controller_only():
    """A shared fixture's build is paid in the setup of the test that builds it."""
    cache = Cache({CACHE_KEY: {'old': 3.0, 'a': 1.0}})
    durations = Durations()
    for when, nodeid, seconds in [('setup', 'a', 50.0), ('call', 'a', 2.0), ('teardown', 'a', 9.0)]:
        durations.record(report(when, nodeid, seconds))
    durations.save(SimpleNamespace(cache=cache, workerinput={}))  # an xdist worker
    assert cache[CACHE_KEY] == {'old': 3.0, 'a': 1.0}
    durations.save(SimpleNamespace(cache=cache))
    assert cache[CACHE_KEY] == {'old': 3.0, 'a': 52.0}


def test_a_wait_for_another_workers_build_is_not_counted():
    """40 s of the setup waited on the lock of a fixture another worker built: the test's own
    time is the rest (else it would start beside the builder next time and wait again)."""
    waits, item, durations = Waits(), SimpleNamespace(user_properties=[]), Durations()
    waits.add(40.0)
    waits.attach(item, 'setup')
    assert item.user_properties == [(f'{WAITED}:setup', 40.0)]
    durations.record(report('setup', 'b', 41.0, item.user_properties))
    waits.attach(item, 'call')  # nothing waited since
    durations.record(report('call', 'b', 2.0, item.user_properties))
    assert durations.seen == {'b': 3.0}
