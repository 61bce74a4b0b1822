"""The store on PostgreSQL as on SQLite: what several machines sharing one store rely on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC
from typing import TypeVar

import pytest

from harvesters.clock import utcnow
from harvesters.errors import JobAlreadyRunning
from harvesters.identity import catalog_identity
from harvesters.models import Dataset
from harvesters.pipeline import Harvester
from harvesters.sources import change_source, register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog, Provenance, Write
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import harvested_remote_ids, paged_source, remote_ids, serve_paged_catalog

T = TypeVar("T")


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def race(store: Store, racers: int, action: Callable[[Store], T]) -> list[T | Exception]:
    """Run `action` in `racers` threads at once, each on its own store, as separate processes do."""
    return race_urls(store.url, racers, action)


def race_urls(url: str, racers: int, action: Callable[[Store], T]) -> list[T | Exception]:
    """Open a store in `racers` threads at once (tables created on first use), then run `action` on each."""
    barrier = threading.Barrier(racers)
    results: list[T | Exception] = []

    def run() -> None:
        barrier.wait()
        try:
            own = Store(url)
            results.append(action(own))
            own.engine.dispose()
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_harvest_then_a_rerun(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 150)
    first = Harvester(store).run(source, exclusive=True)
    assert first.status == "done" and store.summary(first.id)["created"] == 150
    assert first.created.tzinfo is not None and first.ended is not None and first.ended.tzinfo is not None
    second = Harvester(store).run(source, exclusive=True)
    assert store.summary(second.id)["unchanged"] == 150
    assert [job.id for job in store.list_jobs(source.id)] == [second.id, first.id]
    assert store.get_source(source.slug, with_last_job=True).last_job.id == second.id
    assert sorted(harvested_remote_ids(store, source)) == sorted(remote_ids(150))


def test_datasets_gone_upstream_are_archived(store: Store, catalog_server: CatalogServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
    source = paged_source(store, catalog_server, 10)
    Harvester(store).run(source)
    smaller = change_source(store, source.id, url=serve_paged_catalog(catalog_server, 8, path="/eight.ttl"))
    job = Harvester(store).run(smaller)
    assert store.summary(job.id)["archived"] == 2
    archived = {dataset["harvest"]["remote_id"] for dataset in LocalCatalog(store).list_datasets(source.id)
                if dataset["archived"]}
    assert archived == {"ds-00008", "ds-00009"}
    assert store.count_active_links(source.id) == 8


def test_of_racing_exclusive_jobs_one_is_created(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 1)
    results = race(store, 8, lambda racer: racer.create_job(source.id, exclusive=True))
    [winner] = [result for result in results if isinstance(result, str)]
    refusals = [result for result in results if isinstance(result, JobAlreadyRunning)]
    assert len(refusals) == 7 and {refusal.job_id for refusal in refusals} == {winner}
    store.update_job(winner, status="done", ended=utcnow())
    assert store.running_job(source.id) is None
    assert store.create_job(source.id, exclusive=True) != winner


def test_of_racing_claims_each_item_goes_to_one(store: Store, catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 50)
    job_id = store.create_job(source.id)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)
    item_ids = store.pending_item_ids(job_id)
    claims = race(store, 4, lambda racer: [  # overlapping batches, as redelivered tasks claim them
        item.id for start in range(0, len(item_ids), 5) for item in racer.claim_items(item_ids[start:start + 10])])
    assert sorted(item_id for claimed in claims for item_id in claimed) == item_ids
    assert store.count_items(job_id, "started") == 50


def test_racing_creates_of_one_remote_dataset_make_one(store: Store) -> None:
    source = register_source(store, name="Race", url="https://example.org/catalog.ttl", backend="dcat")
    write = Write.of(Dataset(title="Same dataset"),
                     Provenance(source_id=source.id, source_url=source.url, remote_id="r-1"))
    refs = race(store, 6, lambda racer: LocalCatalog(racer).write(write).id)
    assert all(isinstance(ref, str) for ref in refs), refs
    [dataset] = LocalCatalog(store).list_datasets(source.id)
    assert set(refs) == {dataset["id"]}


def test_sources_are_found_by_id_slug_name_and_search(store: Store) -> None:
    first = register_source(store, name="Région Île-de-France", url="https://data.iledefrance.fr/api/",
                            backend="dcat", organization="org-1")
    second = register_source(store, name="Région Île-de-France", url="https://opendata.paris.fr/api/",
                             backend="dcat")
    assert first.slug != second.slug
    assert store.get_source(second.slug).id == second.id
    assert store.source_with_identity(catalog_identity("https://OpenData.Paris.fr:443/api", "dcat")).id == second.id
    assert [source.id for source in store.list_sources(q="ILEDEFRANCE")] == [first.id]
    assert store.count_sources(owner="org-1") == 1
    assert first.created_at.tzinfo == UTC


def test_processes_opening_a_new_database_together_all_start(database_url: str) -> None:
    opened = race_urls(database_url, 8, lambda store: None)  # no store was opened on it before
    assert opened == [None] * 8, opened
