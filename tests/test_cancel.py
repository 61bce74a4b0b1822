"""Cancelling jobs: from the command line and over the API, inline and on RQ workers; a job waiting for a worker
nobody runs says so."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters.queue import harvest_queue
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.paged_dcat import catalog_page, paged_source
from tests.servers.workers import Processes, wait_for

HARVEST = str(Path(sys.executable).with_name("harvest"))


@pytest.fixture
def held_catalog(catalog_server: CatalogServer) -> Iterator[tuple[str, threading.Event]]:
    """A DCAT catalog of 3 pages of 100 datasets whose second page, the first time it is asked for, waits until
    the event is set (a long harvest, held halfway)."""
    url = catalog_server.url + "/held/catalog.ttl"
    release = threading.Event()
    asked: list[int] = []

    def page(request: Request) -> Reply:
        number = int(request.query.get("page", "1"))
        if number == 2 and not asked:
            asked.append(number)
            release.wait(60)
        return Reply(catalog_page(url, catalog_server.url, number, 300, 100), "text/turtle")

    catalog_server.handle("/held/catalog.ttl", page)
    yield url, release
    release.set()


def test_a_running_inline_job_is_cancelled_from_the_command_line(
        cli: Cli, store: Store, database_url: str, held_catalog: tuple[str, threading.Event], tmp_path: Path) -> None:
    url, release = held_catalog
    source = register_source(store, name="Held", url=url, backend="dcat")
    env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url,
           "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1"}
    running = subprocess.Popen([HARVEST, "run", "held", "--json"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: store.list_jobs(source.id) and store.count_items(store.list_jobs(source.id)[0].id, "done")
                 >= 100, 60, "the first page to be harvested")
        job_id = store.list_jobs(source.id)[0].id
        cancelled = cli("job", "cancel", job_id[:8])
        assert f"Job {job_id} cancelled" in cancelled.stdout
        row = store.job_row(job_id)
        assert row.status == "failed" and row.errors[-1]["message"] == "Cancelled from the command line"
        again = cli.json("run", "held")  # the source runs again at once (its catalog answers it in full)
        assert again["status"] == "done" and len(LocalCatalog(store).list_datasets(source.id)) == 300
    finally:
        release.set()
        output, errors = running.communicate(timeout=60)
    assert running.returncode == 1, errors
    assert store.count_items(job_id, "done") == 100  # the second page, read once released, was not harvested
    assert store.count_items(job_id) == 100
    assert "already ended" in cli("job", "cancel", job_id, expect=2).stderr


def test_a_job_on_the_workers_is_cancelled_over_the_api(
        api: ApiClient, store: Store, catalog_server: CatalogServer, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "20")
    source = paged_source(store, catalog_server, 1000)
    job_id = api.send("POST", f"/source/{source.id}/run/").json()["last_job"]["id"]
    with Processes(tmp_path) as processes:
        processes.worker()
        wait_for(lambda: store.count_items(job_id, "done") >= 100, 120, "a hundred items harvested")
        assert api.send("POST", f"/job/{job_id}/cancel/", key=None).status_code == 401
        answer = api.send("POST", f"/job/{job_id[:10]}/cancel/")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "failed"
        done_at_cancel = store.count_items(job_id, "done")
        row = store.job_row(job_id)
        assert row.errors[-1]["message"] == "Cancelled by API key 'tests'"
        assert store.running_job(source.id) is None
        time.sleep(3)  # what the worker does next: nothing more for this job
        assert store.count_items(job_id, "done") <= done_at_cancel + 20  # at most the batch it was writing
        assert store.count_items(job_id, "pending") == store.count_items(job_id, "started") == 0
        assert not [task for task in harvest_queue().get_job_ids() if job_id in task]
        assert api.send("POST", f"/job/{job_id}/cancel/").status_code == 409
        relaunched = api.send("POST", f"/source/{source.id}/run/")
        assert relaunched.status_code == 200 and relaunched.json()["last_job"]["id"] != job_id


def test_a_job_launched_with_no_worker_listening_says_it_waits(cli: Cli, store: Store,
                                                             catalog_server: CatalogServer, redis_url: str) -> None:
    source = paged_source(store, catalog_server, 10)
    launched = cli("launch", source.slug)
    assert "no worker listens on queue 'harvest': the job waits until one starts" in launched.stderr
    job_id = launched.stdout.strip()
    shown = " ".join(cli("job", "show", job_id).stdout.split())
    assert "Waiting for a worker: none listens on queue 'harvest'" in shown
    cli("job", "cancel", job_id)
    assert store.job_row(job_id).status == "failed"
    assert harvest_queue().count == 0  # its gather task no longer waits
