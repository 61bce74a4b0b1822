"""Jobs on RQ workers: real redis-server, real `harvest worker` processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.serializers import JSONSerializer
from sqlalchemy import select
from sqlalchemy.engine import Connection

from harvesters.clock import utcnow
from harvesters.errors import JobAlreadyRunning, NotLaunchable
from harvesters.models import FINISHED_JOB_STATUSES
from harvesters.pipeline import Harvester
from harvesters.queue import RUNTIMES, enqueue_items, launch, process_task, redis_connection
from harvesters.sources import delete_source
from harvesters.store import Store
from harvesters.store.schema import items
from harvesters.sweeper import sweep
from harvesters.targets import LocalCatalog, Write, Written
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.paged_dcat import harvested_remote_ids, paged_source, remote_ids
from tests.servers.redis_server import free_port
from tests.servers.workers import Processes, wait_for, wait_until_finished
from tests.tiers import starts


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.fixture
def fast_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats every 0.3 s, a job without one for 3 s is abandoned; batches of 50 items."""
    monkeypatch.setenv("HARVEST_HEARTBEAT_INTERVAL", "0.3")
    monkeypatch.setenv("HARVEST_HEARTBEAT_TIMEOUT", "3")
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "50")


@pytest.fixture
@starts("servers")
def processes(tmp_path: Path, redis_url: str, database_url: str, fast_timings: None) -> Iterator[Processes]:
    with Processes(tmp_path) as started:
        yield started


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_launch_returns_at_once_and_two_workers_share_the_items(
    cli: Cli, store: Store, catalog_server: CatalogServer, processes: Processes, redis_url: str
) -> None:
    source = paged_source(store, catalog_server, 300)
    processes.worker()
    processes.worker()
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + 60  # both listening before the job exists: a slow start is no reason to miss it
    while len(Worker.all(connection=redis)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    job_id = cli("launch", source.slug).stdout.strip()
    assert store.job_row(job_id).status != "done"  # launch enqueues and returns; the workers harvest
    job = wait_until_finished(store, job_id, processes)
    assert job.status == "done", job.errors
    assert store.summary(job_id)["created"] == 300
    harvested = harvested_remote_ids(store, source)
    assert len(harvested) == 300 and set(harvested) == remote_ids(300)
    tasks_done = [worker.successful_job_count for worker in Worker.all(connection=Redis.from_url(redis_url))]
    assert len(tasks_done) == 2 and all(tasks_done), tasks_done  # both workers took part


def test_a_worker_killed_halfway_loses_and_duplicates_nothing(
    store: Store, catalog_server: CatalogServer, processes: Processes
) -> None:
    source = paged_source(store, catalog_server, 2000)
    job_id = launch(store, source.id)
    doomed = processes.worker()
    processes.worker()
    wait_for(lambda: store.count_items(job_id, "done") >= 600 and stopped_amid_a_batch(store, doomed.pid), 180,
             "a third of the items to be processed, the doomed worker amid a batch", interval=0.01)
    processes.kill_machine(doomed)

    def swept_until_finished() -> bool:  # what `harvest sweep` or a scheduler does periodically
        sweep(store)
        return store.job_row(job_id).status in FINISHED_JOB_STATUSES

    wait_for(swept_until_finished, 180, "the sweeper to resume the job", interval=0.5)
    job = store.get_job(job_id)
    assert job.status == "done", job.errors
    harvested = harvested_remote_ids(store, source)
    assert len(harvested) == 2000 and set(harvested) == remote_ids(2000)
    summary = store.summary(job_id)
    # An item whose dataset the dead worker wrote (link saved) before recording the item is found
    # unchanged when it is processed again: written once, reported once.
    assert summary["created"] + summary["updated"] + summary["unchanged"] == 2000 and summary["failed"] == 0
    assert [error.level for error in job.errors if error.message.startswith("Resumed")] == ["info"]
    assert store.job_row(job_id).resumed == 1


def stopped_amid_a_batch(store: Store, pid: int) -> bool:
    """Whether the worker of this pid, stopped (SIGSTOP) while it is looked at, holds a batch amid its processing;
    if not, it goes on. Stopped, it cannot settle its batch between this look and its kill."""
    os.kill(pid, signal.SIGSTOP)
    if amid_a_batch(store, pid):
        return True
    os.kill(pid, signal.SIGCONT)
    return False


def amid_a_batch(store: Store, pid: int) -> bool:
    """Whether the worker of this pid holds a batch with at least ten items claimed and not yet settled."""
    workers = Worker.all(connection=redis_connection(), serializer=JSONSerializer)
    worker = next((worker for worker in workers if worker.pid == pid), None)
    try:
        task = worker.get_current_job() if worker else None
    except NoSuchJobError:  # the task ended (and was deleted) meanwhile
        return False
    if task is None or task.func_name != "harvesters.queue.process_task":
        return False
    job_id, item_ids = task.args
    with store.begin() as conn:
        started = set(conn.execute(select(items.c.id).where(items.c.job_id == job_id, items.c.status == "started"))
                      .scalars())
    return len(set(item_ids) & started) >= 10


def test_a_second_launch_while_one_runs_is_refused(
    cli: Cli, store: Store, catalog_server: CatalogServer, processes: Processes
) -> None:
    source = paged_source(store, catalog_server, 20)
    first = cli("launch", source.slug).stdout.strip()
    refused = one_line(cli("launch", source.slug, expect=2).output)
    assert "already has a running job" in refused and first in refused
    with pytest.raises(JobAlreadyRunning) as raised:
        launch(store, source.id)
    assert raised.value.job_id == first
    assert "already has a running job" in one_line(cli("run", source.slug, expect=2).output)
    assert [job.id for job in store.list_jobs(source.id)] == [first]

    processes.worker()
    assert wait_until_finished(store, first, processes).status == "done"
    second = cli("launch", source.slug).stdout.strip()
    assert second != first
    assert wait_until_finished(store, second, processes).status == "done"


def test_an_interrupted_run_fails_its_job_and_frees_the_source(
    cli: Cli, store: Store, catalog_server: CatalogServer, tmp_path: Path
) -> None:
    source = paged_source(store, catalog_server, 150)  # pages of 100: the second one hangs, once
    page = catalog_server.handlers[urlsplit(source.url).path]
    hung: list[Request] = []

    def hang_once(request: Request) -> Reply:
        reply = page(request)
        if request.query.get("page") == "2" and not hung:
            hung.append(request)
            reply.delay = 60
        return reply

    catalog_server.handle(urlsplit(source.url).path, hang_once)
    with Processes(tmp_path) as processes:
        run = processes.start("run", source.slug)
        wait_for(lambda: hung, 60, "the second page to be asked for")
        run.send_signal(signal.SIGINT)
        run.wait(30)
    [job] = store.list_jobs(source.id)
    assert job.status == "failed" and "Interrupted" in job.errors[-1].message
    assert cli.json("run", source.slug)["status"] == "done"


class Died(BaseException):
    """The process dies here (not an error the pipeline could record)."""


class DyingCatalog(LocalCatalog):
    """Writes the batch's first dataset, then its process dies before the items and links are recorded."""

    def write_batch(self, conn: Connection, writes: Sequence[tuple[Write, str | None]]) -> list[Written]:
        with self.store.begin() as own:
            super().write_batch(own, writes[:1])
        raise Died


def test_items_delivered_again_are_written_once(
    store: Store, catalog_server: CatalogServer, processes: Processes
) -> None:
    source = paged_source(store, catalog_server, 120)
    job_id = store.create_job(source.id, exclusive=True)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)
    item_ids = store.pending_item_ids(job_id)
    with pytest.raises(Died):
        Harvester(store, target=DyingCatalog(store)).process(job_id, item_ids)
    assert store.take_over_job(job_id, stale_before=utcnow() + timedelta(seconds=1)) == 120
    enqueue_items(job_id, item_ids)  # every batch is delivered twice
    enqueue_items(job_id, item_ids)
    processes.start("worker", "--burst").wait(120)

    assert wait_until_finished(store, job_id, processes).status == "done"
    harvested = harvested_remote_ids(store, source)
    assert len(harvested) == 120 and set(harvested) == remote_ids(120)
    summary = store.summary(job_id)
    assert (summary["created"], summary["updated"], summary["failed"]) == (119, 1, 0)
    assert store.get_link(source.id, "ds-00000").dataset_id == LocalCatalog(store).find(source.id, "ds-00000")


def test_two_workers_racing_on_the_same_batch_process_each_item_once(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARVEST_REDIS_URL", raising=False)
    source = paged_source(store, catalog_server, 60)
    job_id = store.create_job(source.id, exclusive=True)
    gathered: list[int] = []
    Harvester(store).gather(job_id, dispatch=lambda _job, ids: gathered.extend(ids))
    racers = [threading.Thread(target=process_task, args=(job_id, gathered)) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    job = store.get_job(job_id)
    assert job.status == "done"
    assert store.summary(job_id)["created"] == 60
    assert sorted(harvested_remote_ids(store, source)) == sorted(remote_ids(60))


def test_without_redis_launch_runs_the_job_in_a_background_thread(
    cli: Cli, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARVEST_REDIS_URL", raising=False)
    source = paged_source(store, catalog_server, 30)
    job_id = launch(store, source.id)
    assert wait_until_finished(store, job_id).status == "done"
    assert set(harvested_remote_ids(store, source)) == remote_ids(30)
    assert "HARVEST_REDIS_URL" in one_line(cli("launch", source.slug, expect=2).output)
    assert "HARVEST_REDIS_URL" in one_line(cli("worker", "--burst", expect=2).output)


def test_inactive_or_deleted_sources_are_not_launched(cli: Cli, store: Store, catalog_server: CatalogServer,
                                                     redis_url: str) -> None:
    source = paged_source(store, catalog_server, 5)
    store.update_source(source.id, active=False)
    with pytest.raises(NotLaunchable, match="inactive"):
        launch(store, source.id)
    assert "inactive" in one_line(cli("run", source.slug, expect=2).output)
    store.update_source(source.id, active=True)
    delete_source(store, source.id)
    assert "deleted" in one_line(cli("launch", source.id, expect=2).output)
    assert store.list_jobs(source.id) == []


def test_a_job_that_cannot_be_enqueued_fails_and_frees_its_source(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    source = paged_source(store, catalog_server, 5)
    with pytest.raises(Exception, match="(?i)connect"):
        launch(store, source.id)
    [job] = store.list_jobs(source.id)
    assert job.status == "failed" and "could not be started" in job.errors[0].message
    assert store.running_job(source.id) is None


def test_a_worker_keeps_a_jobs_scope_for_all_its_batches_and_drops_it_when_the_job_ends(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARVEST_REDIS_URL", raising=False)
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "50")
    source = paged_source(store, catalog_server, 120)
    job_id = store.create_job(source.id, exclusive=True)
    batches: list[list[int]] = []
    Harvester(store).gather(job_id, dispatch=lambda _job, ids: batches.append(ids))
    assert len(batches) == 3
    process_task(job_id, batches[0])
    harvester = RUNTIMES.current().worker_harvester
    scope = harvester._scopes[job_id]  # opened by the first batch
    process_task(job_id, batches[1])
    assert harvester._scopes[job_id] is scope  # the same source, backend and target view
    process_task(job_id, batches[2])
    assert store.job_row(job_id).status == "done" and job_id not in harvester._scopes
