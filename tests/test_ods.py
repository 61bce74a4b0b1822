"""OpenDataSoft backend (Explore API v2.1): paging, the 10,000 offset window and the export, mapping, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from backends.base import BackendContext, SkipRecord
from backends.ods import OdsBackend, iter_json_array, map_dataset
from harvesters.http import Http
from harvesters.licenses import LICENSE_EXTRA, load_license_file
from harvesters.models import HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.shared import CORPUS, fixture_path, shared

DATASETS = "/api/explore/v2.1/catalog/datasets"
EXPORT = "/api/explore/v2.1/catalog/exports/json"
PUBLISHERS = ("Ville de Lyon", "Métropole de Lyon", "Région")


# --- a generated OpenDataSoft portal --------------------------------------------------------------------------


def ods_dataset(n: int) -> dict[str, Any]:
    """A dataset as the Explore API v2.1 lists it (metas.default trimmed to what a portal usually fills)."""
    geo = n % 4 == 0
    return {
        "visibility": "domain",
        "dataset_id": f"comptages-velo-{n:05d}",
        "dataset_uid": f"da_{n:06x}",
        "has_records": True,
        "data_visible": True,
        "features": ["analyze", "geo"] if geo else ["analyze"],
        "metas": {"default": {
            "title": f"Comptages vélo n°{n}",
            "description": f"<p>Passages de vélos au compteur <b>{n}</b>.</p>",
            "theme": ["Mobilité", "Environnement"],
            "keyword": ["vélo", "transport" if n % 2 else "comptage"],
            "license": "Licence Ouverte v2.0",
            "license_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
            "language": "fr",
            "modified": "2024-05-06T07:08:09+00:00",
            "data_processed": "2024-05-06T07:10:00+00:00",
            "records_count": 1200 + n,
            "publisher": PUBLISHERS[n % 3],
            "references": None,
        }},
        "fields": [
            {"name": "date", "label": "Date", "type": "datetime", "description": None, "annotations": {}},
            {"name": "passages", "label": "Passages", "type": "int", "description": "Par heure", "annotations": {}},
        ] + ([{"name": "geo_point_2d", "label": "Position", "type": "geo_point_2d", "annotations": {}}] if geo else []),
        "attachments": [],
        "alternative_exports": [],
    }


def facet_matches(dataset: dict[str, Any], expression: str | None) -> bool:
    key, _, value = (expression or "").partition(":")
    found = dataset["metas"]["default"].get(key)
    return value.strip('"') in (found if isinstance(found, list) else [found])


def ods_portal(datasets: list[dict[str, Any]]) -> Callable[[Request], Reply]:
    """/catalog/datasets as the real API answers: refine/exclude facets, limit <= 100, offset + limit < 10,000."""

    def search(request: Request) -> Reply:
        limit, offset = int(request.query.get("limit", 10)), int(request.query.get("offset", 0))
        if limit > 100 or offset + limit >= 10_000:
            error = {"error_code": "InvalidRESTParameterError",
                     "message": "Invalid value for limit+offset: it must be lower than 10000"}
            return Reply(json.dumps(error), "application/json", status=400)
        found = filtered(datasets, request)
        return Reply(json.dumps({"total_count": len(found), "results": found[offset:offset + limit]}),
                     "application/json; charset=utf-8")

    return search


def filtered(datasets: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    refine, exclude = request.query.get("refine"), request.query.get("exclude")
    found = [dataset for dataset in datasets if (not refine or facet_matches(dataset, refine))
             and not (exclude and facet_matches(dataset, exclude))]
    return sorted(found, key=lambda dataset: dataset["dataset_id"]) if request.query.get("order_by") else found


def ods_export(datasets: list[dict[str, Any]]) -> Callable[[Request], Reply]:
    return lambda request: Reply(json.dumps(filtered(datasets, request)), "application/json; charset=utf-8")


def add_source(store: Store, url: str, **config: Any) -> HarvestSource:
    return register_source(store, name="ods portal", url=url, backend="ods", config=config or None)


def ods_backend(url: str, **config: Any) -> OdsBackend:
    return OdsBackend(url, OdsBackend.validate_config(config), BackendContext(Http(), load_license_file()))


# --- gather -----------------------------------------------------------------------------------------------


def test_a_12000_dataset_catalog_is_harvested_completely_through_the_export(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    datasets = [ods_dataset(n) for n in range(12_000)]
    catalog_server.handle(DATASETS, ods_portal(datasets))
    catalog_server.handle(EXPORT, ods_export(datasets))
    source = add_source(store, catalog_server.url)

    job = harvester.run(source)

    assert [request.target for request in catalog_server.requests] == [
        f"{DATASETS}?order_by=dataset_id&limit=100&offset=0", f"{EXPORT}?order_by=dataset_id"]
    assert job.status == "done"
    assert {item.status for item in job.items} == {"done"}
    assert sorted(item.remote_id for item in job.items) == sorted(d["dataset_id"] for d in datasets)
    catalog = LocalCatalog(store).list_datasets(source.id)
    assert len(catalog) == 12_000
    last = next(d for d in catalog if d["harvest"]["remote_id"] == "comptages-velo-11999")
    assert last["title"] == "Comptages vélo n°11999" and last["license"] == "lov2"
    assert [r["format"] for r in last["resources"]] == ["csv", "json"]


@pytest.mark.parametrize(("size", "pages", "exported"), [(9_900, 99, False), (9_901, 1, True)])
def test_paging_is_used_up_to_the_offset_window_then_the_export(
    catalog_server: CatalogServer, size: int, pages: int, exported: bool
) -> None:
    datasets = [ods_dataset(n) for n in range(size)]
    catalog_server.handle(DATASETS, ods_portal(datasets))
    catalog_server.handle(EXPORT, ods_export(datasets))

    records = list(ods_backend(catalog_server.url).gather())

    assert [record.remote_id for record in records] == sorted(d["dataset_id"] for d in datasets)
    offsets = [int(request.query["offset"]) for request in catalog_server.requests_to(DATASETS)]
    assert offsets == [100 * page for page in range(pages)]
    assert len(catalog_server.requests_to(EXPORT)) == int(exported)


def test_filters_become_refine_exclude_and_where(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    datasets = [ods_dataset(n) for n in range(450)]
    catalog_server.handle(DATASETS, ods_portal(datasets))
    source = add_source(store, catalog_server.url + "/api/explore/v2.1/", filters=[
        {"key": "keyword", "value": "transport"},
        {"key": "publisher", "value": "Région", "type": "exclude"},
    ], extra_configs=[{"key": "where", "value": "records_count > 0"}])

    job = harvester.run(source)

    expected = {d["dataset_id"] for d in datasets
                if "transport" in d["metas"]["default"]["keyword"] and d["metas"]["default"]["publisher"] != "Région"}
    assert {item.remote_id for item in job.items} == expected and len(job.items) == len(expected) == 150
    query = {"order_by": "dataset_id", "refine": 'keyword:"transport"', "exclude": 'publisher:"Région"',
             "where": "records_count > 0", "limit": "100"}
    assert [request.query for request in catalog_server.requests] == [
        query | {"offset": "0"}, query | {"offset": "100"}]


# --- mapping ----------------------------------------------------------------------------------------------


def fixture_datasets() -> dict[str, dict[str, Any]]:
    page = json.loads(fixture_path("ods/catalog-v2.1.json").read_text())
    return {dataset["dataset_id"]: dataset for dataset in page["results"]}


def mapped(dataset_id: str, inspire: bool = False) -> Any:
    return map_dataset(fixture_datasets()[dataset_id], "http://data.test.org", load_license_file(), inspire=inspire)


def test_a_dataset_with_records_is_mapped_field_by_field() -> None:
    result = mapped("test-a")
    dataset = result.dataset
    assert (dataset.title, dataset.description) == ("test-a", "test-a-description")
    assert dataset.tags == ["culture-heritage", "environment", "keyword1", "keyword2"]
    assert (dataset.license, dataset.frequency) == ("odc-odbl", "annual")
    assert [(c.name, c.email) for c in dataset.contact_points] == [("Service SIG", "sig@test.org")]
    assert dataset.extras == {"ods:references": "http://example.com", "ods:publisher": "Ville de Test"}
    assert result.remote.remote_url == "http://data.test.org/explore/dataset/test-a/"
    assert result.remote.created_at == datetime(2015, 3, 2, tzinfo=UTC)
    assert result.remote.issued_at == datetime(2015, 3, 20, tzinfo=UTC)
    assert result.remote.modified_at == datetime(2015, 4, 9, 10, 28, 45, tzinfo=UTC)
    exports = "http://data.test.org/api/explore/v2.1/catalog/datasets/test-a/exports"
    assert [(r.title, r.url, r.format, r.mime, r.type) for r in dataset.resources] == [
        ("CSV export", f"{exports}/csv", "csv", "text/csv", "main"),
        ("JSON export", f"{exports}/json", "json", "application/json", "main"),
    ]
    assert dataset.resources[0].description == "- *Toto*: toto [text] Le toto\n- *Titi*: titi [int]"
    assert dataset.resources[0].last_modified == datetime(2015, 6, 1, 5, 30, 1, tzinfo=UTC)


def test_geo_exports_attachments_and_alternative_exports() -> None:
    base = "http://data.test.org/api/explore/v2.1/catalog/datasets/test-b"
    resources = mapped("test-b").dataset.resources
    assert [(r.title, r.url, r.format, r.mime, r.type, r.extras["ods:type"]) for r in resources] == [
        ("CSV export", f"{base}/exports/csv", "csv", "text/csv", "main", "export"),
        ("JSON export", f"{base}/exports/json", "json", "application/json", "main", "export"),
        ("GeoJSON export", f"{base}/exports/geojson", "geojson", "application/geo+json", "main", "export"),
        ("Shapefile export", f"{base}/exports/shp", "shp", "application/zip", "main", "export"),
        ("Documentation", f"{base}/attachments/documentation_pdf", "pdf", "application/pdf", "documentation",
         "attachment"),
        ("Extra file", f"{base}/attachments/extra_xls", "xls", "application/xls", "documentation", "attachment"),
        ("gtfs.zip", f"{base}/alternative_exports/gtfs_zip", "zip", "application/zip", "main", "alternative_export"),
    ]
    assert resources[-1].description == "GTFS 15/01"
    assert mapped("test-b").dataset.license == "lov2"


def test_no_shapefile_beyond_50000_records() -> None:
    assert [r.format for r in mapped("test-shp-limit").dataset.resources] == ["csv", "json", "geojson"]


def test_files_without_records_are_enough() -> None:
    assert [r.format for r in mapped("with-attachments").dataset.resources] == ["pdf", "zip"]


@pytest.mark.parametrize(("dataset_id", "reason"), [
    ("test-c", "Dataset test-c has neither records nor files"),
    ("inspire", "Dataset inspire has INSPIRE metadata (enable the 'inspire' feature to harvest it)"),
])
def test_datasets_that_are_not_harvested_are_skipped_with_a_reason(dataset_id: str, reason: str) -> None:
    with pytest.raises(SkipRecord, match=f"^{re.escape(reason)}$"):
        mapped(dataset_id)


def test_the_inspire_feature_harvests_inspire_datasets(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    catalog_server.serve_fixture(DATASETS, "ods/catalog-v2.1.json", "application/json")
    off = harvester.run(add_source(store, catalog_server.url))
    assert {item.remote_id: item.status for item in off.items} == {
        "test-a": "done", "test-b": "done", "test-shp-limit": "done", "with-attachments": "done",
        "test-c": "skipped", "inspire": "skipped"}
    skipped = {item.remote_id: item.logs[0].message for item in off.items if item.status == "skipped"}
    assert skipped["test-c"] == "Dataset test-c has neither records nor files"

    # the same portal by another name: another catalog, of another domain (its datasets are its own)
    on = harvester.run(register_source(store, name="with inspire", url=catalog_server.url.replace(
        "127.0.0.1", "localhost"), backend="ods", config={"features": {"inspire": True}}))
    assert next(item for item in on.items if item.remote_id == "inspire").status == "done"


# --- error answers and the export stream ------------------------------------------------------------------


@pytest.mark.parametrize(("target", "fault", "expected"), [
    (DATASETS, Reply("<html><body>Maintenance</body></html>", "text/html"),
     "{url}{datasets}?order_by=dataset_id&limit=100&offset=0 returned HTML where JSON was expected"),
    (DATASETS, Reply(json.dumps({"error_code": "ODSQLError", "message": "Unknown field: foo"}), "application/json",
                     status=400), "ODSQLError: Unknown field: foo (HTTP 400 from {url}{datasets})"),
    (EXPORT, Reply("Bad gateway", "text/plain", status=500), "HTTP 500 Internal Server Error from {url}{export}"),
    (EXPORT, Reply('[{"dataset_id": "a"}, {"dataset_id": "b", "metas": {', "application/json"),
     "{url}{export}?order_by=dataset_id returned an invalid or truncated JSON array"),
], ids=["html", "ods-error", "http-500", "truncated-export"])
def test_an_error_answer_fails_the_job_and_changes_nothing(
    store: Store, harvester: Harvester, catalog_server: CatalogServer, target: str, fault: Reply, expected: str
) -> None:
    datasets = [ods_dataset(n) for n in range(3)]
    catalog_server.handle(DATASETS, ods_portal(datasets))
    source = add_source(store, catalog_server.url)
    harvester.run(source)
    before = LocalCatalog(store).list_datasets(source.id)
    if target == EXPORT:  # a catalog beyond the offset window
        catalog_server.handle(DATASETS, lambda request: Reply(json.dumps({"total_count": 10_000, "results": []}),
                                                              "application/json"))
    catalog_server.handle(target, lambda request: fault)

    job = harvester.run(source)

    assert job.status == "failed"
    assert [error.message for error in job.errors] == [
        expected.format(url=catalog_server.url, datasets=DATASETS, export=EXPORT)]
    assert LocalCatalog(store).list_datasets(source.id) == before and len(before) == 3


def test_the_export_is_decoded_across_chunk_boundaries(catalog_server: CatalogServer) -> None:
    values = [1, 23456, {"title": "Évolution des données", "n": [1.5, None]}, "fin", 7.25]
    url = catalog_server.serve("/export.json", " [ " + " , ".join(json.dumps(v, ensure_ascii=False) for v in values)
                               + " ]\n", "application/json")
    for chunk_size in (1, 3, 7, 4096):
        assert list(iter_json_array(Http().get(url, stream=True), chunk_size=chunk_size)) == values


# --- the OpenDataSoft SDK's documented answers (../shared/corpus) --------------------------------------------


def corpus_answer(name: str) -> dict[str, Any]:
    return json.loads(shared(CORPUS / "ods" / name).read_text())


def test_a_license_the_portal_does_not_list_is_kept_as_text() -> None:
    boundaries = corpus_answer("explore-sdk-datasets-v2.1.json")["results"][0]
    dataset = map_dataset(boundaries, "https://documentation-resources.opendatasoft.com", load_license_file()).dataset
    assert dataset.license is None
    assert dataset.extras[LICENSE_EXTRA] == "Open Government Licence v3.0"
    assert dataset.extras["ods:publisher"] == "World Food Programme (UN agency)"


def test_a_contact_with_a_name_only_is_left_out_with_a_warning() -> None:
    dataset = corpus_answer("explore-sdk-dataset-v2.1.json")
    dataset["metas"]["dcat"] = {"contact_name": "Service SIG"}
    result = map_dataset(dataset, "https://public.opendatasoft.com", load_license_file())
    assert result.dataset.contact_points == []
    assert result.warnings == ["Contact point 'Service SIG' has neither an email nor a contact form: left out"]


def test_the_sdk_catalog_answer_harvests_both_datasets(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    answer = corpus_answer("explore-sdk-datasets-v2.1.json")
    catalog_server.handle(DATASETS, ods_portal(answer["results"]))
    job = harvester.run(add_source(store, catalog_server.url))
    assert job.status == "done"
    assert sorted((item.remote_id, item.status) for item in job.items) == [
        ("geonames-all-cities-with-a-population-1000", "done"),
        ("world-administrative-boundaries-countries-and-territories", "done")]
    catalog = {dataset["harvest"]["remote_id"]: dataset for dataset in LocalCatalog(store).list_datasets(job.source)}
    boundaries = catalog["world-administrative-boundaries-countries-and-territories"]
    assert boundaries["extras"][LICENSE_EXTRA].startswith("Open Government Licence v3.0")
    assert [r["format"] for r in boundaries["resources"]] == ["csv", "json", "geojson", "shp"]
    cities = catalog["geonames-all-cities-with-a-population-1000"]
    assert [(r["title"], r["type"]) for r in cities["resources"]][-1] == ("cities1000.zip", "documentation")
