"""Inline runs read the catalog and map its batches ahead in helper processes (harvesters/gatherer.py,
harvesters/mapper.py): the same outcomes as without them; a gather failing there fails the job as it would
here, and so do the warnings of a page read leniently there; a mapping helper that dies leaves its batches mapped
here, a gathering one fails the job saying so."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import pytest

from harvesters import queue
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import datasets_page
from tests.servers.catalog import CatalogServer
from tests.servers.hostile import dataset_id, spliced_catalog
from tests.servers.paged_dcat import catalog_page

VOLATILE = {"id", "slug", "created_at", "last_modified", "last_update", "internal", "contact_points"}


def catalog(server: CatalogServer, count: int) -> str:
    """`count` datasets, the 4th failing its mapping and the 7th without a title (skipped)."""
    entries: list[dict[str, Any]] = []
    for n in range(count):
        entry: dict[str, Any] = {"id": f"ds-{n}", "title": f"Dataset {n}", "files": [f"http://files.test/{n}.csv"]}
        if n == 3:
            entry["error"] = "boom: bad record"
        if n == 6:
            entry["title"] = ""
        entries.append(entry)
    return server.serve("/catalog.json", datasets_page(*entries), "application/json")


def harvest(store: Store, url: str, on_progress: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the catalog into this store; the items (by remote id) and the datasets written, without their ids
    and stamps."""
    source = register_source(store, name="ahead", url=url, backend="jsonlist")
    job = Harvester(store, progress=on_progress).run(source)
    items = {item.remote_id: (item.status, [log.message for log in item.logs], [e.message for e in item.errors])
             for item in job.items}
    documents = [{key: value for key, value in document.items() if key not in VOLATILE}
                 for document in LocalCatalog(store).list_datasets(source.id)]
    for document in documents:
        document["harvest"] = {key: value for key, value in document["harvest"].items()
                               if key not in ("last_update", "source_id")}
        document["resources"] = [{key: value for key, value in resource.items() if key not in VOLATILE}
                                 for resource in document["resources"]]
    return {"status": job.status, "items": items}, documents


def helpers(name: str = "harvest-mapping") -> list[multiprocessing.Process]:
    return [child for child in multiprocessing.active_children() if child.name == name]


def paged_catalog(server: CatalogServer, pages: int, size: int, broken: int | None = None,
                  slow: int | None = None) -> str:
    """`pages` pages of `size` datasets; page `broken` (from 1) answers HTTP 500, page `slow` after a second."""
    for page in range(1, pages + 1):
        entries = [{"id": f"p{page}-{n}", "title": f"Dataset {page}.{n}"} for n in range(size)]
        following = f"{server.url}/paged.json?page={page + 1}" if page < pages else None
        server.serve(f"/paged.json?page={page}", datasets_page(*entries, next_url=following), "application/json",
                     status=500 if page == broken else 200, delay=1.0 if page == slow else 0.0)
    return f"{server.url}/paged.json?page=1"


def run_and_list(store: Store, url: str, on_progress: Any = None, **run: Any) -> tuple[Any, list[str]]:
    source = register_source(store, name=f"paged {url}", url=url, backend="jsonlist")
    job = Harvester(store, progress=on_progress).run(source, **run)
    return job, sorted(document["harvest"]["remote_id"] for document in LocalCatalog(store).list_datasets(source.id))


def test_batches_mapped_ahead_give_what_mapping_here_gives(
    tmp_path: Any, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "3")
    url = catalog(catalog_server, 11)
    seen: list[int] = []
    ahead = harvest(Store(f"sqlite:///{tmp_path / 'ahead.db'}"), url, lambda outcome: seen.append(len(helpers())))
    assert max(seen) == 1  # a helper process mapped batches meanwhile
    assert helpers() == helpers("harvest-gathering") == []  # the helpers are gone with the job
    monkeypatch.setenv("HARVEST_MAP_AHEAD", "0")
    here = harvest(Store(f"sqlite:///{tmp_path / 'here.db'}"), url, lambda outcome: seen.append(len(helpers())))
    assert seen[-1] == 0
    assert ahead == here
    assert ahead[0]["status"] == "done-errors" and len(ahead[1]) == 9
    assert ahead[0]["items"]["ds-3"] == ("failed", [], ["boom: bad record"])
    assert ahead[0]["items"]["ds-6"] == ("skipped", ["missing title"], [])


def test_datasets_mapped_ahead_are_hashed_and_shaped_as_they_would_be_here(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper hashes and shapes the writes of what it maps: the same hash as here (mapped again here, every
    dataset is unchanged, nothing is written again), and the same shape kept with each link."""
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "3")
    source = register_source(store, name="hashed", url=catalog(catalog_server, 11), backend="jsonlist")
    Harvester(store).run(source)
    written = {link.remote_id: (link.payload_hash, link.summary) for link in store.active_links(source.id)}
    with store.begin() as conn:  # every record mapped again, here
        conn.exec_driver_sql("UPDATE links SET record_hash = NULL")
    monkeypatch.setenv("HARVEST_MAP_AHEAD", "0")
    job = Harvester(store).run(source)
    assert store.summary(job.id)["unchanged"] == len(written) == 9
    assert {link.remote_id: (link.payload_hash, link.summary) for link in store.active_links(source.id)} == written


@pytest.mark.timeout(60)
def test_batches_larger_than_the_pipes_are_mapped_ahead_all_the_same(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch sent while the helper answers the one before waits in the helper's pipe; one too large for it
    waits for that answer first (sent meanwhile, each process would wait for the other to read)."""
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "2")
    entries = [{"id": f"big-{n}", "title": f"Big {n}", "description": f"{n} " + "x" * 700_000} for n in range(8)]
    url = catalog_server.serve("/big.json", datasets_page(*entries), "application/json")
    seen: list[int] = []
    job, harvested = run_and_list(store, url, lambda outcome: seen.append(len(helpers())))
    assert job.status == "done" and harvested == sorted(entry["id"] for entry in entries)
    assert max(seen) == 1


def test_a_job_of_one_batch_starts_no_helper(store: Store, catalog_server: CatalogServer) -> None:
    seen: list[int] = []
    status, documents = harvest(store, catalog(catalog_server, 8), lambda outcome: seen.append(len(helpers())))
    assert status["status"] == "done-errors" and len(documents) == 6
    assert seen and max(seen) == 0


def test_a_helper_that_dies_leaves_its_batches_mapped_here(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "2")
    killed: list[int] = []

    def kill_the_helper(outcome: str) -> None:
        for helper in helpers():
            if helper.pid is not None and not killed:
                os.kill(helper.pid, signal.SIGKILL)
                killed.append(helper.pid)

    status, documents = harvest(store, catalog(catalog_server, 12), kill_the_helper)
    assert killed and "The mapping process stopped" in caplog.text
    assert status["status"] == "done-errors" and len(documents) == 10
    assert {remote_id for remote_id, (state, _, _) in status["items"].items() if state == "done"} == {
        f"ds-{n}" for n in range(12) if n not in (3, 6)}


def test_a_gather_failing_ahead_fails_the_job_as_it_would_here(
    tmp_path: Any, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "4")
    url = paged_catalog(catalog_server, pages=4, size=5, broken=3)
    ahead, harvested = run_and_list(Store(f"sqlite:///{tmp_path / 'ahead.db'}"), url)
    monkeypatch.setenv("HARVEST_MAP_AHEAD", "0")
    here, harvested_here = run_and_list(Store(f"sqlite:///{tmp_path / 'here.db'}"), url)
    assert ahead.status == here.status == "failed"
    assert [error.message for error in ahead.errors] == [error.message for error in here.errors]
    assert "HTTP 500" in ahead.errors[0].message
    assert harvested == harvested_here == sorted(f"p{page}-{n}" for page in (1, 2) for n in range(5))


def test_a_run_capped_by_max_items_reads_ahead_no_further(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "3")
    job, harvested = run_and_list(store, paged_catalog(catalog_server, pages=6, size=5), max_items=8)
    assert job.status == "done" and len(harvested) == 8
    assert helpers("harvest-gathering") == []


def test_a_gathering_helper_that_dies_fails_the_job_saying_so(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "2")
    killed: list[int] = []

    def kill_the_gatherer_waiting_for_page_5() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            if any(request.query.get("page") == "5" for request in catalog_server.requests_to("/paged.json")):
                for helper in helpers("harvest-gathering"):
                    os.kill(helper.pid or 0, signal.SIGKILL)
                    killed.append(helper.pid or 0)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_gatherer_waiting_for_page_5)
    killer.start()
    job, harvested = run_and_list(store, paged_catalog(catalog_server, pages=8, size=5, slow=5))
    killer.join()
    assert killed and job.status == "failed"
    assert [error.message for error in job.errors] == ["The gathering process stopped before the end of the gather"]
    # what the helper had sent is harvested; its last batch, unfinished while it waited, is lost with it
    read = {f"p{page}-{n}" for page in range(1, 5) for n in range(5)}
    assert read - {"p4-4"} <= set(harvested) <= read


def test_a_page_read_leniently_ahead_warns_the_job_and_its_items_as_it_would_here(
    tmp_path: Any, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "2")
    url = f"{catalog_server.url}/lenient.ttl"
    for page in (1, 2):  # two clean pages of two datasets each, read before and by the gathering helper
        catalog_server.serve(f"/lenient.ttl?page={page}", catalog_page(url, catalog_server.url, page, 6, 2),
                             "text/turtle")
    broken = spliced_catalog(catalog_server.url, broken=True)  # the third, read leniently, by the helper
    for n in (0, 1):
        broken = broken.replace(f'"{dataset_id(n)}"', f'"lenient-{n}"')
    catalog_server.serve("/lenient.ttl?page=3", broken, "text/turtle")

    def outcome(store: Store) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
        source = register_source(store, name="lenient", url=f"{url}?page=1", backend="dcat")
        job = Harvester(store).run(source)
        return ([(error.level, error.message) for error in job.errors],
                {item.remote_id: [log.message for log in item.logs if log.level == "warning"] for item in job.items})

    ahead = outcome(Store(f"sqlite:///{tmp_path / 'ahead.db'}"))
    monkeypatch.setenv("HARVEST_MAP_AHEAD", "0")
    here = outcome(Store(f"sqlite:///{tmp_path / 'here.db'}"))
    assert ahead == here
    [(level, message)] = ahead[0]  # once, though the helper read that page
    assert level == "warning" and message.startswith(f"The page {url}?page=3 is not valid Turtle (")
    assert {remote_id for remote_id, warnings in ahead[1].items() if warnings} == {"lenient-0", "lenient-1"}
    assert all(warning.startswith(f"Read from the page {url}?page=3") for warning in ahead[1]["lenient-0"])


@pytest.mark.servers
def test_a_workers_gather_reads_ahead_in_a_helper_unless_told_not_to(
    store: Store, catalog_server: CatalogServer, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's gather reads the catalog ahead in a helper process, as an inline run does, and dispatches every
    batch all the same; HARVEST_MAP_AHEAD=0 (no helper processes) keeps the reading in the worker."""
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "3")
    source = register_source(store, name="worker", url=paged_catalog(catalog_server, 4, 3), backend="jsonlist")
    enqueue_items = queue.enqueue_items
    readers: list[int] = []
    dispatched: list[int] = []

    def dispatch(job_id: str, item_ids: list[int]) -> None:
        readers.append(len(helpers("harvest-gathering")))
        dispatched.extend(item_ids)
        enqueue_items(job_id, item_ids)

    monkeypatch.setattr(queue, "enqueue_items", dispatch)
    for ahead, helpers_seen in (("1", 1), ("0", 0)):
        monkeypatch.setenv("HARVEST_MAP_AHEAD", ahead)
        readers.clear()
        dispatched.clear()
        job_id = store.create_job(source.id)
        queue.gather_task(job_id)
        assert max(readers) == helpers_seen
        assert len(dispatched) == 12 and store.job_row(job_id).gathered
    assert helpers("harvest-gathering") == []  # gone with the gather

