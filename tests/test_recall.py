"""Pages read again unchanged are recalled instead of parsed (harvesters/recall.py), and only then."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backends.dcat import rdf
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.store.schema import pages
from harvesters.targets import LocalCatalog
from tests.servers.catalog import CatalogServer

PAGE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{url}> a dcat:Catalog .
{datasets}
{next}
"""
DATASET = """<{base}/d/{n}> a dcat:Dataset ; dct:identifier "d-{n}" ; dct:title "{title}"@fr ;
    dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence> ;
    dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <{base}/f/{n}.csv> ] ."""


def serve(server: CatalogServer, titles: dict[int, str] | None = None) -> str:
    """Two pages of three datasets (blank-node distributions), titled "Dataset N" unless `titles` says."""
    url = server.url + "/catalog.ttl"
    for page, numbers in ((1, range(3)), (2, range(3, 6))):
        datasets = "\n".join(DATASET.format(base=server.url, n=n, title=(titles or {}).get(n, f"Dataset {n}"))
                             for n in numbers)
        following = f"<{url}?page=1> hydra:next <{url}?page=2> ." if page == 1 else ""
        server.serve(f"/catalog.ttl?page={page}", PAGE.format(url=url, datasets=datasets, next=following),
                     "text/turtle")
    return url + "?page=1"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The URL of every page parsed from now on."""
    seen: list[str] = []
    original = rdf.Page.__init__

    def counting(page: rdf.Page, content: bytes, fmt: rdf.RdfFormat, base_iri: str) -> None:
        seen.append(base_iri)
        original(page, content, fmt, base_iri)

    monkeypatch.setattr(rdf.Page, "__init__", counting)
    yield seen


def summary(store: Store, harvester: Harvester, source_id: str) -> dict[str, int]:
    job = harvester.run(store.get_source(source_id))
    assert job.status == "done", job.errors
    return {key: count for key, count in store.summary(job.id).items() if count}


def test_an_unchanged_rerun_recalls_every_page(store: Store, catalog_server: CatalogServer,
                                               parsed: list[str]) -> None:
    source = register_source(store, name="recall", url=serve(catalog_server), backend="dcat")
    assert summary(store, Harvester(store), source.id) == {"created": 6} and len(parsed) == 2
    parsed.clear()
    before = {d["id"]: d["last_modified"] for d in LocalCatalog(store).list_datasets(source.id)}
    job = Harvester(store).run(store.get_source(source.id))
    assert parsed == [] and store.summary(job.id)["unchanged"] == 6
    assert {d["id"]: d["last_modified"] for d in LocalCatalog(store).list_datasets(source.id)} == before
    titles = {item.dataset.title for item in job.items if item.dataset}
    assert titles == {f"Dataset {n}" for n in range(6)}  # what the last mapping said


def test_a_changed_page_is_parsed_again_and_only_its_changed_dataset_written(
    store: Store, catalog_server: CatalogServer, parsed: list[str]
) -> None:
    source = register_source(store, name="recall", url=serve(catalog_server), backend="dcat")
    summary(store, Harvester(store), source.id)
    serve(catalog_server, titles={4: "Dataset 4, revised"})
    parsed.clear()
    assert summary(store, Harvester(store), source.id) == {"updated": 1, "unchanged": 5}
    assert [url.rsplit("=", 1)[-1] for url in parsed] == ["2"]  # the first page was recalled


def test_another_license_list_is_another_mapping_nothing_is_recalled(
    store: Store, catalog_server: CatalogServer, parsed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = register_source(store, name="recall", url=serve(catalog_server), backend="dcat")
    summary(store, Harvester(store), source.id)
    licenses = tmp_path / "licenses.json"
    licenses.write_text(json.dumps([{"id": "lo-2", "title": "Licence Ouverte / Open Licence version 2.0",
                                     "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}]))
    monkeypatch.setenv("HARVEST_LICENSES_FILE", str(licenses))
    parsed.clear()
    assert summary(store, Harvester(store), source.id) == {"updated": 6}
    assert len(parsed) == 2
    assert {d["license"] for d in LocalCatalog(store).list_datasets(source.id)} == {"lo-2"}


def test_an_archived_dataset_back_on_its_page_is_parsed_and_unarchived(
    store: Store, catalog_server: CatalogServer, parsed: list[str]
) -> None:
    source = register_source(store, name="recall", url=serve(catalog_server), backend="dcat")
    summary(store, Harvester(store), source.id)
    store.archive_link(source.id, "d-1")
    parsed.clear()
    assert summary(store, Harvester(store), source.id) == {"updated": 1, "unchanged": 5}
    assert [url.rsplit("=", 1)[-1] for url in parsed] == ["1"]


def test_a_preview_remembers_no_page(store: Store, catalog_server: CatalogServer) -> None:
    source = register_source(store, name="recall", url=serve(catalog_server), backend="dcat")
    Harvester(store).run(source, preview=True)
    with store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(pages)).scalar_one() == 0
