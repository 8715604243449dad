"""The order the suite runs in: longest first, so that pytest-xdist's workers share out the long
runs at the start and the last minutes hold only quick tests (a two-minute test started last
would be the whole tail). The durations come from the last runs, kept in pytest's cache; a
fresh checkout falls back on the numbers below, then on the ``slow`` marker.

A test's duration is its setup and its call: the test that builds a shared fixture
(``built_once`` in tests/conftest.py) pays the build in its setup, and must start early. The
time a test only waited for another worker's build is left out, or that test would be put
first next time too, beside the builder, and wait again."""

from __future__ import annotations

import pytest

CACHE_KEY = 'mae_plugin/durations'
WORKER_KEY = 'mae_plugin_durations'  # the controller's numbers, handed to each xdist worker
WAITED = 'mae_plugin_waited'  # user property of a report: seconds waited on another's build

# Setup + call time in seconds of the longest tests (2026-12-07, `make test` on 2 idle cores
# without a cache, the durations it then kept): the order until the cache holds numbers of its
# own. The first tests of the session-wide fixtures (tests/conftest.py) hold the fixture's build.
MEASURED = {
    'tests/tools/test_reproduce.py::test_the_tiny_set_runs_end_to_end_and_resumes': 78.0,
    'tests/e2e/lightning/test_resume.py::'
    'test_two_processes_resumed_on_one_step_with_the_one_process_lr': 62.0,
    'tests/e2e/lightning/test_fsdp2.py::'
    'test_fsdp2_trains_and_resumes_as_ddp_does_and_its_checkpoint_loads_into_timm': 32.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/scaling.md:53]': 27.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/pretraining.md:12]': 25.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/monitoring.md:101]': 25.0,
    'tests/e2e/test_pretrain.py::'
    'test_demo_trains_writes_checkpoint_and_pictures_then_resumes': 25.0,
    'tests/e2e/test_fsdp.py::'
    'test_knn_monitor_and_pictures_run_on_every_rank_of_a_sharded_model': 22.0,
    'tests/e2e/test_fsdp.py::test_kill_9_during_a_save_then_resume_at_two_and_at_one_process': 21.0,
    'tests/e2e/test_shards.py::test_torchrun_two_ranks_two_workers_one_epoch_then_resume': 19.0,
    'tests/e2e/test_unreadable.py::'
    'test_two_ranks_count_each_bad_file_once_across_epochs_retries_and_resume': 19.0,
    'tests/e2e/test_unreadable.py::'
    'test_skip_drops_an_unreadable_image_from_the_accuracy_and_counts_it': 15.0,
    'tests/e2e/test_detection.py::test_mask_rcnn_trains_from_a_plugin_checkpoint_then_tests': 14.0,
    'tests/e2e/lightning/test_nonfinite.py::'
    'test_a_nan_burst_on_one_ddp_rank_stops_every_rank': 12.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/finetuning.md:11]': 12.0,
    'tests/docs/test_snippets.py::test_command_block_runs[docs/continuing.md:63]': 12.0,
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


class Waits:
    """The seconds this process waited for another worker's build of a shared fixture, handed
    to the report of the phase (setup or call) that waited, as its user property WAITED (which
    pytest-xdist sends to the controller with the report)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def add(self, seconds: float) -> None:
        self.seconds += seconds

    def attach(self, item: pytest.Item, when: str) -> None:
        if self.seconds:
            item.user_properties.append((f'{WAITED}:{when}', round(self.seconds, 2)))
            self.seconds = 0.0


class Durations:
    """Collects setup + call times as reports arrive (in the controller under xdist), less the
    waits for another worker's build, and merges them into the cache at the end; tests this
    run did not reach keep their older numbers."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def record(self, report: pytest.TestReport) -> None:
        if report.when in ('setup', 'call'):
            waited = dict(report.user_properties).get(f'{WAITED}:{report.when}', 0.0)
            seconds = self.seen.get(report.nodeid, 0.0) + max(0.0, report.duration - waited)
            self.seen[report.nodeid] = round(seconds, 2)

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, 'cache', None)
        if cache is None or not self.seen or hasattr(config, 'workerinput'):
            return  # a worker leaves the writing to the controller
        cache.set(CACHE_KEY, {**cache.get(CACHE_KEY, {}), **self.seen})
