"""The pipeline's rules, on real HTTP: isolation, duplicates, unchanged skip, max items, preview, autoarchive."""

from __future__ import annotations

import pytest

from harvesters.models import HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import datasets_page
from tests.servers.catalog import CatalogServer


def dataset(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"ds-{n}", "title": f"Dataset {n}", "files": [f"http://files.test/{n}.csv"], **extra}


def add_source(store: Store, url: str, **values: object) -> HarvestSource:
    return register_source(store, name=f"source {url}", url=url, backend="jsonlist", **values)


def serve(server: CatalogServer, *entries: dict[str, object]) -> str:
    return server.serve("/catalog.json", datasets_page(*entries), "application/json")


def statuses(job) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {item.remote_id: item.status for item in job.items}


def test_a_failing_item_never_stops_the_job(store: Store, harvester: Harvester, catalog_server: CatalogServer) -> None:
    source = add_source(store, serve(catalog_server, dataset(1), dataset(2, error="boom: bad record"), dataset(3)))
    job = harvester.run(source)
    assert job.status == "done-errors"
    assert statuses(job) == {"ds-1": "done", "ds-2": "failed", "ds-3": "done"}
    failed = next(item for item in job.items if item.status == "failed")
    assert [error.message for error in failed.errors] == ["boom: bad record"]
    assert len(LocalCatalog(store).list_datasets(source.id)) == 2


def test_skipped_records_are_reported_with_their_reason(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    source = add_source(store, serve(catalog_server, dataset(1), dataset(2, title="")))
    job = harvester.run(source)
    assert job.status == "done"
    skipped = next(item for item in job.items if item.remote_id == "ds-2")
    assert skipped.status == "skipped" and skipped.logs[0].message == "missing title"


def test_second_record_with_the_same_identifier_fails(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    source = add_source(store, serve(catalog_server, dataset(1), dataset(1, title="Again"), dataset(2)))
    job = harvester.run(source)
    assert [item.status for item in job.items] == ["done", "failed", "done"]
    assert job.items[1].errors[0].message == "Identifier 'ds-1' already exists"
    assert [d["title"] for d in LocalCatalog(store).list_datasets(source.id)] == ["Dataset 1", "Dataset 2"]


def test_unreachable_catalog_fails_the_job_and_keeps_what_was_harvested(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    url = serve(catalog_server, dataset(1), dataset(2))
    source = add_source(store, url)
    harvester.run(source)
    catalog_server.serve("/catalog.json", "Internal error", "text/plain", status=500)
    job = harvester.run(source)
    assert job.status == "failed"
    assert job.errors[0].message == f"HTTP 500 Internal Server Error from {url}"
    catalog = LocalCatalog(store).list_datasets(source.id)
    assert [(d["title"], d["archived"]) for d in catalog] == [("Dataset 1", None), ("Dataset 2", None)]


def test_unchanged_datasets_are_not_rewritten(store: Store, harvester: Harvester,
                                              catalog_server: CatalogServer) -> None:
    source = add_source(store, serve(catalog_server, dataset(1), dataset(2)))
    harvester.run(source)
    before = {d["id"]: d["last_modified"] for d in LocalCatalog(store).list_datasets(source.id)}
    serve(catalog_server, dataset(1), dataset(2, title="Dataset 2, revised"))
    job = harvester.run(source)
    assert store.summary(job.id) | {} == {"created": 0, "updated": 1, "unchanged": 1, "skipped": 0, "failed": 0,
                                          "archived": 0}
    after = {d["id"]: d for d in LocalCatalog(store).list_datasets(source.id)}
    assert set(after) == set(before)  # no new dataset
    unchanged = next(d for d in after.values() if d["title"] == "Dataset 1")
    assert unchanged["last_modified"] == before[unchanged["id"]]


def test_resources_keep_their_ids_across_runs(store: Store, harvester: Harvester,
                                              catalog_server: CatalogServer) -> None:
    source = add_source(store, serve(catalog_server, dataset(1, files=["http://f.test/a.csv", "http://f.test/b.csv"])))
    harvester.run(source)
    [first] = LocalCatalog(store).list_datasets(source.id)
    serve(catalog_server, dataset(1, files=["http://f.test/b.csv", "http://f.test/c.csv"]))
    harvester.run(source)
    [second] = LocalCatalog(store).list_datasets(source.id)
    ids_before = {r["url"]: r["id"] for r in first["resources"]}
    ids_after = {r["url"]: r["id"] for r in second["resources"]}
    assert ids_after["http://f.test/b.csv"] == ids_before["http://f.test/b.csv"]
    assert "http://f.test/a.csv" not in ids_after
    assert ids_after["http://f.test/c.csv"] not in ids_before.values()


def test_max_items_caps_the_run_and_prevents_archiving(
    store: Store, harvester: Harvester, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
    source = add_source(store, serve(catalog_server, *(dataset(n) for n in range(1, 6))))
    harvester.run(source)
    job = harvester.run(source, max_items=2)
    assert [item.remote_id for item in job.items] == ["ds-1", "ds-2"]
    assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))


def test_preview_maps_and_reports_without_writing(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    source = add_source(store, serve(catalog_server, dataset(1), dataset(2, error="broken")))
    job = harvester.run(source, preview=True)
    assert statuses(job) == {"ds-1": "done", "ds-2": "failed"}
    assert job.items[0].logs[-1].message == "Dataset created (preview)"
    assert LocalCatalog(store).list_datasets() == []
    assert store.get_link(source.id, "ds-1") is None


class TestAutoarchive:
    def harvest_then_drop(self, store: Store, server: CatalogServer, keep: int, total: int = 4) -> tuple:
        harvester = Harvester(store)
        source = add_source(store, serve(server, *(dataset(n) for n in range(1, total + 1))))
        harvester.run(source)
        serve(server, *(dataset(n) for n in range(1, keep + 1)))
        return source, harvester.run(source)

    def test_vanished_datasets_wait_for_the_grace_period(self, store: Store, catalog_server: CatalogServer) -> None:
        source, job = self.harvest_then_drop(store, catalog_server, keep=3)
        assert job.status == "done"
        assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))

    def test_vanished_datasets_are_archived_after_the_grace_period_and_come_back(
        self, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
        source, job = self.harvest_then_drop(store, catalog_server, keep=3)
        assert statuses(job)["ds-4"] == "archived"
        archived = [d for d in LocalCatalog(store).list_datasets(source.id) if d["archived"]]
        assert [d["harvest"]["remote_id"] for d in archived] == ["ds-4"]
        assert archived[0]["harvest"]["archived_at"] is not None
        serve(catalog_server, *(dataset(n) for n in range(1, 5)))
        job = Harvester(store).run(source)
        assert store.summary(job.id)["updated"] == 1
        assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))

    def test_a_mass_disappearance_archives_nothing(
        self, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
        source, job = self.harvest_then_drop(store, catalog_server, keep=1)
        assert job.status == "done-errors"
        assert "3 of 4 datasets (75%)" in job.errors[0].message
        assert "nothing was archived" in job.errors[0].message
        assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))

    def test_sources_without_autoarchive_keep_everything(
        self, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
        harvester = Harvester(store)
        source = add_source(store, serve(catalog_server, dataset(1), dataset(2), dataset(3)), autoarchive=False)
        harvester.run(source)
        serve(catalog_server, dataset(1), dataset(2))
        harvester.run(source)
        assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))

    def test_a_failed_gather_archives_nothing(
        self, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
        first = catalog_server.serve("/p1", datasets_page(dataset(1), dataset(2), next_url=None), "application/json")
        source = add_source(store, first)
        Harvester(store).run(source)
        catalog_server.serve("/p1", datasets_page(dataset(1), next_url=catalog_server.url + "/p2"),
                             "application/json")
        catalog_server.serve("/p2", "<html>oops</html>", "text/html")
        job = Harvester(store).run(source)
        assert job.status == "failed"
        assert "returned HTML where JSON was expected" in job.errors[0].message
        assert all(d["archived"] is None for d in LocalCatalog(store).list_datasets(source.id))
