"""The scheduler: due runs launched exactly once by any number of schedulers, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harvesters.models import HarvestSource, ValidationState
from harvesters.scheduler import Scheduler, latest_due
from harvesters.sources import change_source, delete_source, validate_source
from harvesters.store import Store
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import paged_source
from tests.servers.workers import Processes, wait_for
from tests.tiers import starts

T0 = datetime(2025, 3, 10, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.fixture
@starts("servers")
def processes(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[Processes]:
    with Processes(tmp_path) as started:
        yield started


def scheduled_source(store: Store, server: CatalogServer, schedule: str,
                     state: ValidationState | None = "accepted",
                     count: int = 5) -> HarvestSource:
    source = change_source(store, paged_source(store, server, count).id, schedule=schedule)
    if state:
        validate_source(store, source.id, state, comment="checked")
    return store.get_source(source.id)


def never_launched(store: Store, server: CatalogServer, schedule: str) -> list[HarvestSource]:
    """Sources with the same schedule that must never run on it: unvalidated, refused, inactive, deleted."""
    pending = scheduled_source(store, server, schedule, state=None, count=1)
    refused = scheduled_source(store, server, schedule, state="refused", count=2)
    inactive = change_source(store, scheduled_source(store, server, schedule, count=3).id, active=False)
    deleted = delete_source(store, scheduled_source(store, server, schedule, count=4).id)
    return [pending, refused, inactive, deleted]


@pytest.mark.parametrize(("schedule", "since", "now", "due"), [
    ("* * * * *", T0, T0 + timedelta(seconds=29), None),
    ("* * * * *", T0, T0 + timedelta(seconds=30), T0 + timedelta(seconds=30)),
    ("* * * * *", T0, T0 + timedelta(minutes=3, seconds=10), T0 + timedelta(minutes=3, seconds=-30)),
    ("* * * * *", T0 + timedelta(seconds=30), T0 + timedelta(seconds=31), None),
    ("@daily", T0 - timedelta(days=1), T0, datetime(2025, 3, 10, tzinfo=UTC)),
    ("@hourly", T0, T0 + timedelta(minutes=20), None),
    ("0 6 * * 1", T0 - timedelta(days=30), T0, datetime(2025, 3, 10, 6, tzinfo=UTC)),
])
def test_latest_due_is_the_last_firing_since_the_last_run(schedule: str, since: datetime, now: datetime,
                                                          due: datetime | None) -> None:
    assert latest_due(schedule, since, now) == due


def test_two_schedulers_for_three_minutes_on_every_minute_launch_three_jobs(
    store: Store, catalog_server: CatalogServer, processes: Processes
) -> None:
    source = scheduled_source(store, catalog_server, "* * * * *")
    others = never_launched(store, catalog_server, "* * * * *")
    now = [source.created_at]
    schedulers = [Scheduler(Store(store.url), clock=lambda: now[0]) for _ in range(2)]
    processes.worker()
    barrier = threading.Barrier(2)

    def tick(scheduler: Scheduler) -> None:
        barrier.wait()
        scheduler.tick()

    for second in range(0, 181, 5):  # three minutes on the schedulers' clock, side by side
        now[0] = source.created_at + timedelta(seconds=second)
        both = [threading.Thread(target=tick, args=(scheduler,)) for scheduler in schedulers]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
        wait_for(lambda: store.running_job(source.id) is None, 60, "the launched job to end")

    jobs = store.list_jobs(source.id)
    assert len(jobs) == 3
    assert {job.status for job in jobs} == {"done"}
    first_due = latest_due("* * * * *", source.created_at, source.created_at + timedelta(minutes=1))
    assert sorted(store.job_row(job.id).scheduled_for for job in jobs) == [
        first_due + timedelta(minutes=minute) for minute in range(3)
    ]
    assert all(store.list_jobs(other.id) == [] for other in others)


def test_a_due_run_is_skipped_while_the_previous_job_still_runs(
    store: Store, catalog_server: CatalogServer, redis_url: str
) -> None:
    source = scheduled_source(store, catalog_server, "* * * * *")
    now = [source.created_at + timedelta(minutes=1)]
    scheduler = Scheduler(store, clock=lambda: now[0])
    [first] = scheduler.launch_due()  # no worker: it stays pending
    now[0] += timedelta(minutes=1)
    assert scheduler.launch_due() == []
    assert [job.id for job in store.list_jobs(source.id)] == [first]
    assert scheduler.launch_due() == []  # that due time is not retried


def test_two_scheduler_processes_launch_each_due_run_once(
    store: Store, catalog_server: CatalogServer, processes: Processes
) -> None:
    processes.env["HARVEST_SCHEDULER_INTERVAL"] = "0.1"
    source = scheduled_source(store, catalog_server, "* * * * * */2")  # every two seconds
    others = never_launched(store, catalog_server, "* * * * * */2")
    processes.worker()
    schedulers = [processes.start("scheduler"), processes.start("scheduler")]
    wait_for(lambda: len(store.list_jobs(source.id)) >= 3, 60, f"three scheduled runs\n{processes.logs()}")
    time.sleep(2)
    for scheduler in schedulers:
        processes.stop(scheduler)
    wait_for(lambda: store.running_job(source.id) is None, 60, "the last job to end")

    due_times = [store.job_row(job.id).scheduled_for for job in store.list_jobs(source.id)]
    assert len(due_times) == len(set(due_times)) >= 3
    assert all(store.list_jobs(other.id) == [] for other in others)
