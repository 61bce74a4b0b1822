"""A Redis restart mid-job: a real redis-server stopped and started again on the same port (empty: it keeps
nothing on disk) while two real `harvest worker` processes work on a job. The workers wait for it with backoff
and go on, the sweeper enqueues again what Redis lost, and the job ends `done` with every dataset once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters.models import FINISHED_JOB_STATUSES
from harvesters.queue import launch
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.sweeper import sweep
from harvesters.targets import LocalCatalog
from tests.servers.hostile import HostileServer
from tests.servers.redis_server import RedisServer
from tests.servers.workers import Processes, wait_for

DATASETS = 600
DOWN_FOR = 6.0  # seconds: longer than a Redis command's retries (harvesters/queue.py REDIS_RETRY)


@pytest.fixture
def restartable_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """A Redis of this test's own (the session's is left alone), as HARVEST_REDIS_URL, with fast heartbeats."""
    with RedisServer() as server:
        monkeypatch.setenv("HARVEST_REDIS_URL", server.url)
        monkeypatch.setenv("HARVEST_HEARTBEAT_INTERVAL", "0.3")
        monkeypatch.setenv("HARVEST_HEARTBEAT_TIMEOUT", "3")
        monkeypatch.setenv("HARVEST_BATCH_SIZE", "25")
        yield server


def test_workers_ride_out_a_redis_restart_and_the_job_ends_done_with_every_dataset_once(
    store: Store, hostile_server: HostileServer, restartable_redis: RedisServer, tmp_path: Path
) -> None:
    url = f"{hostile_server.url}/hydra/catalog.ttl?total={DATASETS}&page_size=50&delay=0.5"  # a 6 s gather
    source = register_source(store, name="restart", url=url, backend="dcat")
    with Processes(tmp_path) as processes:
        workers = [processes.worker(), processes.worker()]
        job_id = launch(store, source.id)
        wait_for(lambda: store.count_items(job_id, "done") >= 50, 60, "the first batches to be done")
        restartable_redis.restart(down_for=DOWN_FOR)
        assert store.job_row(job_id).status not in FINISHED_JOB_STATUSES  # the restart was mid-job

        def swept_until_finished() -> bool:  # what every scheduler tick does
            sweep(store)
            return store.job_row(job_id).status in FINISHED_JOB_STATUSES

        wait_for(swept_until_finished, 120, "the job to end", interval=0.5)
        assert [worker.poll() for worker in workers] == [None, None], processes.logs()  # both still working
        logs = processes.logs(lines=400)
    job = store.get_job(job_id)
    assert job.status == "done", (job.errors, logs)
    counts = Counter(dataset["harvest"]["remote_id"] for dataset in LocalCatalog(store).list_datasets())
    assert len(counts) == DATASETS and set(counts.values()) == {1}
    summary = store.summary(job_id)
    assert summary["created"] + summary["unchanged"] == DATASETS and summary["failed"] == 0
    # batches the gather could not enqueue, and those Redis lost, were enqueued again by the sweeper
    assert [error.message.split(":")[0] for error in job.errors] == ["Resumed"]


def test_a_worker_started_while_redis_is_down_waits_for_it_then_works(
    store: Store, hostile_server: HostileServer, restartable_redis: RedisServer, tmp_path: Path
) -> None:
    source = register_source(store, name="later", url=f"{hostile_server.url}/hydra/catalog.ttl?total=60",
                             backend="dcat")
    restartable_redis.stop()
    with Processes(tmp_path) as processes:
        worker = processes.worker()
        wait_for(lambda: "the worker tries again in" in processes.logs(), DOWN_FOR * 3, "the worker to wait for Redis")
        assert worker.poll() is None
        restartable_redis.start()
        job_id = launch(store, source.id)
        wait_for(lambda: store.job_row(job_id).status in FINISHED_JOB_STATUSES, 60, "the job to end")
        assert worker.poll() is None
        assert "Redis answers again" in processes.logs()
    assert store.get_job(job_id).status == "done"
