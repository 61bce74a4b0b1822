"""The sweeper and the exactly-once claims, on SQLite and PostgreSQL (no job stays running forever)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from harvesters.clock import utcnow
from harvesters.pipeline import Harvester
from harvesters.queue import launch, process_task
from harvesters.store import Store
from harvesters.sweeper import sweep
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import harvested_remote_ids, paged_source, remote_ids


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.fixture(autouse=True)
def timings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVEST_REDIS_URL", raising=False)
    monkeypatch.setenv("HARVEST_HEARTBEAT_TIMEOUT", "60")
    monkeypatch.setenv("HARVEST_JOB_TIMEOUT", "3600")
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "50")


class Died(BaseException):
    """The process dies here."""


def dies_at(call: int) -> Callable[[str, list[int]], None]:
    """A dispatch that lets the gather record `call` batches, then kills it."""
    calls: list[list[int]] = []

    def dispatch(job_id: str, item_ids: list[int]) -> None:
        calls.append(item_ids)
        if len(calls) == call:
            raise Died

    return dispatch


def silence(store: Store, job_id: str, minutes: float = 5) -> None:
    """No heartbeat for that long, as after its worker died."""
    store.update_job(job_id, heartbeat=utcnow() - timedelta(minutes=minutes))


def test_a_job_older_than_the_timeout_fails_with_a_job_error(cli: Cli, store: Store,
                                                             catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 120)
    job_id = store.create_job(source.id, exclusive=True)
    with pytest.raises(Died):
        Harvester(store).gather(job_id, dispatch=dies_at(1))
    store.update_job(job_id, created=utcnow() - timedelta(hours=2))

    report = cli.json("sweep")
    assert report == {"resumed": [], "timed_out": [job_id], "waiting": []}
    job = store.get_job(job_id)
    assert job.status == "failed" and job.ended is not None
    assert "timed out" in job.errors[-1].message and "HARVEST_JOB_TIMEOUT" in job.errors[-1].message
    assert {item.status for item in job.items} == {"failed"}
    assert store.running_job(source.id) is None  # the source may run again
    assert cli.json("sweep") == {"resumed": [], "timed_out": [], "waiting": []}


def test_a_gather_cut_short_is_resumed_without_recording_a_record_twice(
    store: Store, catalog_server: CatalogServer
) -> None:
    source = paged_source(store, catalog_server, 230)
    job_id = store.create_job(source.id, exclusive=True)
    with pytest.raises(Died):
        Harvester(store).gather(job_id, dispatch=dies_at(2))
    assert store.job_row(job_id).status == "initializing" and store.count_items(job_id) == 100
    silence(store, job_id)

    assert sweep(store, wait=True).resumed == [job_id]  # without Redis: resumed in this process
    job = store.get_job(job_id)
    assert job.status == "done", job.errors
    assert sorted(item.remote_id for item in job.items) == sorted(remote_ids(230))
    assert set(harvested_remote_ids(store, source)) == remote_ids(230)
    [note] = job.errors
    assert note.level == "info" and note.message.startswith("Resumed") and "gather is restarted" in note.message


def test_items_a_lost_worker_had_started_are_processed_again(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 80)
    job_id = store.create_job(source.id, exclusive=True)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)
    first = store.pending_item_ids(job_id)[0]
    assert [item.id for item in store.claim_items([first])] == [first]  # its worker died right after
    silence(store, job_id)

    assert sweep(store, wait=True).resumed == [job_id]
    job = store.get_job(job_id)
    assert job.status == "done" and store.summary(job_id)["created"] == 80
    assert "80 unprocessed items" in job.errors[0].message


def test_a_live_job_is_left_alone(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 10)
    job_id = store.create_job(source.id, exclusive=True)
    silence(store, job_id, minutes=0.5)  # within the heartbeat timeout
    assert sweep(store) == type(sweep(store))()
    assert store.job_row(job_id).status == "pending" and store.job_row(job_id).resumed == 0


def test_a_stale_job_whose_task_waits_for_a_worker_is_not_resumed(
    store: Store, catalog_server: CatalogServer, redis_url: str
) -> None:
    source = paged_source(store, catalog_server, 10)
    job_id = launch(store, source.id)  # no worker runs: its gather waits in the queue
    silence(store, job_id)
    assert sweep(store).waiting == [job_id]
    assert store.job_row(job_id).resumed == 0
    assert sweep(store).waiting == []  # its heartbeat was renewed meanwhile


def test_sweepers_racing_take_a_job_over_once(store: Store, catalog_server: CatalogServer, redis_url: str) -> None:
    source = paged_source(store, catalog_server, 60)
    job_id = store.create_job(source.id, exclusive=True)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)
    silence(store, job_id)
    stale_before = utcnow() - timedelta(minutes=1)
    results: list[int | None] = []
    barrier = threading.Barrier(4)

    def take_over() -> None:
        racer = Store(store.url)
        barrier.wait()
        results.append(racer.take_over_job(job_id, stale_before))

    racers = [threading.Thread(target=take_over) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(results, key=str) == [60, None, None, None]
    assert store.job_row(job_id).resumed == 1


def test_finalize_runs_once_however_many_finish_together(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 40)
    job_id = store.create_job(source.id, exclusive=True)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)
    assert not store.claim_finalize(job_id)  # items are left
    Harvester(store).process(job_id, store.pending_item_ids(job_id))
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def finalize() -> None:
        racer = Store(store.url)
        barrier.wait()
        wins.append(racer.claim_finalize(job_id))

    racers = [threading.Thread(target=finalize) for _ in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_batches_delivered_again_after_the_job_ended_change_nothing(
    store: Store, catalog_server: CatalogServer
) -> None:
    source = paged_source(store, catalog_server, 120)
    job_id = store.create_job(source.id, exclusive=True)
    batches: list[list[int]] = []
    Harvester(store).gather(job_id, dispatch=lambda job, ids: batches.append(ids))
    for batch in batches:
        process_task(job_id, batch)
    ended = store.job_row(job_id)
    assert ended.status == "done"
    for batch in batches:
        process_task(job_id, batch)
    assert store.job_row(job_id) == ended
    assert store.summary(job_id)["created"] == 120 and len(harvested_remote_ids(store, source)) == 120
