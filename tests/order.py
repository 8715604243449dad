"""The order the suite runs in: longest first, so that pytest-xdist's workers share out the long
runs at the start and the last minutes hold only quick tests (a two-minute test started last
would be the whole tail). The durations come from the last runs, kept in pytest's cache; a
fresh checkout falls back on the numbers below, then on the ``slow`` marker."""

from __future__ import annotations

import pytest

CACHE_KEY = 'mae_plugin/durations'
WORKER_KEY = 'mae_plugin_durations'  # the controller's numbers, handed to each xdist worker

# Call time in seconds of the longest tests, measured on 2 cores under pytest-xdist
# (`pytest tests -n auto --dist worksteal --durations=40`, 2026-12-07): the order until the
# cache holds numbers of its own.
MEASURED = {
    'tests/docs/test_snippets.py::test_command_block_runs[README.md:15]': 112.0,
    'tests/lightning/test_resume_layout.py::'
    'test_two_processes_resumed_on_one_step_with_the_one_process_lr': 78.0,
    'tests/lightning/test_fsdp2.py::'
    'test_fsdp2_trains_and_resumes_as_ddp_does_and_its_checkpoint_loads_into_timm': 68.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/scaling.md:53]': 67.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/checkpoints.md:11]': 59.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/finetuning.md:11]': 48.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/pretraining.md:12]': 43.0,
    'tests/engine/test_train.py::'
    'test_demo_trains_writes_checkpoint_and_pictures_then_resumes': 40.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/detection.md:14]': 40.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/continuing.md:63]': 39.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/segmentation.md:12]': 39.0,
}
SLOW_DEFAULT = 15.0  # an unmeasured test marked slow: after the measured long ones


def estimate(item: pytest.Item, cached: dict[str, float]) -> float:
    """Seconds ``item`` is expected to take: its last measured call time, else its entry in
    MEASURED, else SLOW_DEFAULT for a ``slow`` test and 0 for the others."""
    if item.nodeid in cached:
        return cached[item.nodeid]
    if item.nodeid in MEASURED:
        return MEASURED[item.nodeid]
    return SLOW_DEFAULT if item.get_closest_marker('slow') else 0.0


def cached_durations(config: pytest.Config) -> dict[str, float]:
    """The call times kept by the last runs (none with ``-p no:cacheprovider``)."""
    cache = getattr(config, 'cache', None)
    return cache.get(CACHE_KEY, {}) if cache is not None else {}


def longest_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sort ``items`` in place, longest expected first (stable: file order among equals). Under
    xdist every worker sorts by the numbers the controller read once (``WORKER_KEY``): workers
    that collect different orders abort the run, and another session may write the cache
    while they collect."""
    workerinput = getattr(config, 'workerinput', None)
    cached = workerinput[WORKER_KEY] if workerinput else cached_durations(config)
    items.sort(key=lambda item: -estimate(item, cached))


class Durations:
    """Collects call times as reports arrive (in the controller under xdist) and merges them
    into the cache at the end; tests this run did not reach keep their older numbers."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def record(self, report: pytest.TestReport) -> None:
        if report.when == 'call':
            self.seen[report.nodeid] = round(report.duration, 2)

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, 'cache', None)
        if cache is None or not self.seen or hasattr(config, 'workerinput'):
            return  # a worker leaves the writing to the controller
        cache.set(CACHE_KEY, {**cache.get(CACHE_KEY, {}), **self.seen})
