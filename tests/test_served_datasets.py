"""A data service names the datasets it serves by remote id, or by URI when they are described on another page:
found through the links, run after run (an upgraded store learns its datasets' URIs on its next run)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.servers.catalog import CatalogServer

PREFIXES = "@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> ."


def two_pages(server: CatalogServer) -> str:
    """A data service on the first page, serving by URI the dataset of the second page."""
    base = server.url
    server.serve("/catalog.ttl", f"""{PREFIXES} @prefix hydra: <http://www.w3.org/ns/hydra/core#> .
        <{base}/services/api> a dcat:DataService ; dct:identifier "api" ; dct:title "API" ;
            dcat:servesDataset <{base}/datasets/roads>, <{base}/datasets/unknown> .
        <{base}/catalog.ttl> hydra:next <{base}/catalog.ttl?page=2> .""", "text/turtle")
    server.serve("/catalog.ttl?page=2", f"""{PREFIXES}
        <{base}/datasets/roads> a dcat:Dataset ; dct:identifier "roads-42" ; dct:title "Roads" .""", "text/turtle")
    return f"{base}/catalog.ttl"


def served(store: Store, source_id: str) -> list[str]:
    (service,) = LocalCatalog(store).list_dataservices(source_id)
    return [dataset["id"] for dataset in service["datasets"]]


def service_logs(store: Store, job_id: str) -> list[str]:
    item = next(item for item in store.list_items(job_id) if item.remote_id == "api")
    return [log.message for log in item.logs]


def test_a_dataset_of_another_page_is_served_run_after_run(store: Store, catalog_server: CatalogServer) -> None:
    source = register_source(store, name="api", url=two_pages(catalog_server), backend="dcat")
    first = Harvester(store).run(source)
    (dataset,) = LocalCatalog(store).list_datasets(source.id)
    assert served(store, source.id) == [dataset["id"]]
    assert service_logs(store, first.id) == [
        f"Served dataset '{catalog_server.url}/datasets/unknown' not harvested from this source: left out",
        "Data service created"]
    assert store.get_link(source.id, "roads-42").uri == f"{catalog_server.url}/datasets/roads"
    again = Harvester(store).run(source)  # the dataset's page is recalled, the service mapped again
    assert {item.remote_id: item.logs[-1].message for item in again.items} == {
        "roads-42": "Dataset unchanged", "api": "Data service unchanged"}
    assert served(store, source.id) == [dataset["id"]]


def test_a_store_upgraded_learns_its_datasets_uris_on_its_next_run(
    tmp_path: Path, catalog_server: CatalogServer
) -> None:
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    source = register_source(store, name="api", url=two_pages(catalog_server), backend="dcat")
    Harvester(store).run(source)
    store.engine.dispose()
    with sqlite3.connect(path) as conn:  # as an older version left it: no URIs
        conn.execute("ALTER TABLE links DROP COLUMN uri")
    upgraded = Store(f"sqlite:///{path}")
    assert upgraded.get_link(source.id, "roads-42").record_hash is None  # mapped again, not recalled
    again = Harvester(upgraded).run(source)
    (dataset,) = LocalCatalog(upgraded).list_datasets(source.id)
    assert served(upgraded, source.id) == [dataset["id"]]
    assert service_logs(upgraded, again.id)[-1] == "Data service unchanged"
