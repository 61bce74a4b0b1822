"""A running job's progress: the total its catalog announces (every backend's), a rate, a time left and the
stage, the same in the command line's progress bar and in the job API while it runs."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters.clock import utcnow
from harvesters.models import JobProgress
from harvesters.pipeline import Harvester
from harvesters.progress import job_progress
from harvesters.sources import register_source
from harvesters.store import Store
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.hostile import HostileServer
from tests.servers.paged_dcat import catalog_page
from tests.servers.workers import wait_for
from tests.test_hostile_gather import CATALOGS

HARVEST = str(Path(sys.executable).with_name("harvest"))


@pytest.mark.parametrize("backend", sorted(CATALOGS))
def test_every_backend_announces_its_catalogs_total(store: Store, hostile_server: HostileServer,
                                                    backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hydra totalItems, CKAN count, ODS total_count, CSW numberOfRecordsMatched: the progress, looked at while
    the job runs (from the pipeline's own progress callback), counts towards it."""
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "50")
    url, config = CATALOGS[backend]
    source = register_source(store, name=backend, url=url(hostile_server, 300, 300), backend=backend, config=config)
    job_id = store.create_job(source.id)
    seen: list[JobProgress] = []

    def look(outcome: str) -> None:
        if len(seen) < 1 and store.count_items(job_id, "done") >= 60:
            told = job_progress(store.job_row(job_id), store.item_counts([job_id])[job_id], utcnow())
            assert told is not None
            seen.append(told)

    Harvester(store, progress=look).run_job(job_id)
    [told] = seen
    assert (told.stage, told.announced, told.total) == ("gather", 300, 300)
    assert 60 <= told.processed < 300 and told.rate and told.eta is not None and told.eta > 0
    assert store.job_row(job_id).announced == 300


@pytest.fixture
def held_hydra(catalog_server: CatalogServer) -> Iterator[tuple[str, threading.Event]]:
    """A DCAT catalog announcing 300 datasets (hydra:totalItems), 100 a page, its second page held until set."""
    url = catalog_server.url + "/hydra-held/catalog.ttl"
    release = threading.Event()

    def page(request: Request) -> Reply:
        number = int(request.query.get("page", "1"))
        if number == 2:
            release.wait(60)
        body = catalog_page(url, catalog_server.url, number, 300, 100)
        body += "@prefix hydra: <http://www.w3.org/ns/hydra/core#> .\n"
        return Reply(body + f"<{url}?page={number}> hydra:totalItems 300 .\n", "text/turtle")

    catalog_server.handle("/hydra-held/catalog.ttl", page)
    yield url, release
    release.set()


def test_the_job_api_tells_the_progress_while_it_runs(api: ApiClient, store: Store,
                                                      held_hydra: tuple[str, threading.Event]) -> None:
    url, release = held_hydra
    source = api.send("POST", "/sources/", json={"name": "Held", "url": url, "backend": "dcat"}).json()
    job_id = api.send("POST", f"/source/{source['id']}/run/").json()["last_job"]["id"]
    wait_for(lambda: store.count_items(job_id, "done") >= 100, 60, "the first page harvested")
    progress = api.get(f"/job/{job_id}/").json()["progress"]
    assert (progress["stage"], progress["announced"], progress["total"], progress["processed"]) == (
        "gather", 300, 300, 100)
    assert progress["rate"] > 0 and progress["eta"] > 0
    [listed] = api.get(f"/source/{source['id']}/jobs/").json()["data"]
    assert listed["progress"]["total"] == 300 and listed["items"]["total"] == 100
    release.set()
    wait_for(lambda: store.job_row(job_id).finished, 60, "the job to end")
    assert api.get(f"/job/{job_id}/").json()["progress"] is None


def test_the_command_line_shows_the_same_progress(store: Store, database_url: str, tmp_path: Path,
                                                  held_hydra: tuple[str, threading.Event]) -> None:
    url, release = held_hydra
    env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url, "COLUMNS": "100",
           "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1", "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
    running = subprocess.Popen([HARVEST, "run", url, "--backend", "dcat"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: store.list_jobs() and store.count_items(store.list_jobs()[0].id, "done") >= 100, 60,
                 "the first page harvested")
        threading.Event().wait(1.5)  # a few refreshes of the bar while the second page is held
    finally:
        release.set()
        _, shown = running.communicate(timeout=60)
    assert running.returncode == 0
    assert "gather 100/300" in shown and "/s" in shown and "ETA" in shown, shown[-2000:]
