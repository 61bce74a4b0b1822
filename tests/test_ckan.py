"""CKAN backend: package_search paging over a generated portal, filters, fallback, API key, error answers, mapping."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backends.base import BackendContext, Record, SkipRecord
from backends.ckan import CkanBackend
from backends.ckan.mapping import map_package
from harvesters.http import Http
from harvesters.licenses import LICENSE_EXTRA, LicenseIndex, load_license_file
from harvesters.models import HarvestConfig, HarvestJob, HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.shared import CORPUS, fixture_path, shared

ACTION = "/api/3/action"
SEARCH = f"{ACTION}/package_search"
ORGANIZATIONS = ("region", "metropole", "commune")


# --- a generated CKAN portal ---------------------------------------------------------------------------------


def ckan_package(n: int, **changes: Any) -> dict[str, Any]:
    """A package as CKAN 2.10 package_search returns it (trimmed of keys the mapping never reads)."""
    package_id = f"{n:08x}-5d1c-4e6b-9f2a-{n * 7919:012x}"
    package = {
        "id": package_id,
        "name": f"jeu-de-donnees-{n}",
        "title": f"Jeu de données n°{n}",
        "notes": f"<p>Comptages du <strong>réseau {n}</strong>.</p>",
        "url": "",
        "state": "active",
        "private": False,
        "type": "dataset",
        "license_id": "odc-odbl",
        "license_title": "Open Data Commons Open Database License (ODbL)",
        "metadata_created": "2021-03-04T10:11:12.123456",
        "metadata_modified": "2024-01-02T03:04:05.000001",
        "organization": {"name": ORGANIZATIONS[n % 3], "title": ORGANIZATIONS[n % 3].title()},
        "tags": [{"name": "Transport", "display_name": "Transport"}, {"name": f"ligne {n % 7}"}],
        "groups": [{"name": "mobilite" if n % 2 else "environnement"}],
        "extras": [
            {"key": "frequency", "value": "http://purl.org/cld/freq/monthly"},
            {"key": "temporal_start", "value": "2019"},
            {"key": "temporal_end", "value": "2020-02"},
            {"key": "spatial", "value": json.dumps({"type": "Polygon", "coordinates": [
                [[2.2, 48.8], [2.5, 48.8], [2.5, 48.9], [2.2, 48.9], [2.2, 48.8]]]})},
            {"key": "spatial-text", "value": "Île-de-France"},
            {"key": "producer", "value": "Service des mobilités"},
            {"key": "empty", "value": "  "},
        ],
        "resources": [
            {
                "id": f"{n:08x}-aaaa-4bbb-8ccc-000000000001",
                "package_id": package_id,
                "url": f"https://files.example.org/{n}/comptages.csv",
                "name": "Comptages (CSV)",
                "description": "<p>Un fichier <em>par jour</em></p>",
                "format": "CSV",
                "mimetype": "text/csv",
                "size": 1000 + n,
                "hash": hashlib.sha1(f"file {n}".encode()).hexdigest(),
                "created": "2021-03-04T10:11:12.123456",
                "last_modified": "2024-01-02T03:04:05",
                "resource_type": None,
                "position": 0,
            },
            {
                "id": f"{n:08x}-aaaa-4bbb-8ccc-000000000002",
                "package_id": package_id,
                "url": f"https://api.example.org/{n}/",
                "name": "API",
                "description": "",
                "format": "JSON",
                "mimetype": None,
                "size": None,
                "hash": "",
                "created": "2021-03-04T10:11:12",
                "last_modified": None,
                "resource_type": "api",
                "position": 1,
            },
        ],
        "num_resources": 2,
    }
    return package | changes


_CLAUSE = re.compile(r'(-?)(\w+):"((?:[^"\\]|\\.)*)"')


def package_values(package: dict[str, Any], key: str) -> set[str]:
    value = package.get(key)
    if key == "organization":
        return {value["name"]} if value else set()
    return {entry["name"] for entry in value or []}


def matches(package: dict[str, Any], q: str | None) -> bool:
    """What CKAN's Solr answers for our `q`: clauses `[-]key:"value"` joined by AND."""
    for clause in (q or "").split(" AND ") if q else []:
        match = _CLAUSE.fullmatch(clause)
        assert match, f"unexpected q clause {clause!r}"
        found = match[3].replace('\\"', '"') in package_values(package, match[2])
        if found == bool(match[1]):
            return False
    return True


def ckan_answer(result: Any) -> Reply:
    return Reply(json.dumps({"help": "http://x/api/3/action/help_show", "success": True, "result": result}),
                 "application/json;charset=utf-8")


def ckan_portal(packages: list[dict[str, Any]], rows_max: int = 1000) -> Callable[[Request], Reply]:
    """package_search with CKAN's semantics: q, sort, start, rows capped at the portal's rows_max."""

    def search(request: Request) -> Reply:
        found = [package for package in packages if matches(package, request.query.get("q"))]
        if request.query.get("sort") == "id asc":
            found.sort(key=lambda package: package["id"])
        start, rows = int(request.query.get("start", 0)), min(int(request.query.get("rows", 10)), rows_max)
        page = found[start:start + rows]
        return ckan_answer({"count": len(found), "results": page, "facets": {}, "search_facets": {}})

    return search


def add_source(store: Store, url: str, backend: str = "ckan", **config: Any) -> HarvestSource:
    return register_source(store, name="portal", url=url, backend=backend, config=config or None)


def search_params(server: CatalogServer) -> list[dict[str, str]]:
    return [request.query for request in server.requests_to(SEARCH)]


def summary(job: HarvestJob) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in job.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts


# --- gather -----------------------------------------------------------------------------------------------


def test_a_2500_dataset_portal_is_harvested_in_3_pages_without_per_dataset_requests(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    packages = [ckan_package(n) for n in range(2500)]
    catalog_server.handle(SEARCH, ckan_portal(packages))
    source = add_source(store, catalog_server.url)

    job = harvester.run(source)

    assert job.status == "done"
    assert summary(job) == {"done": 2500}
    assert [request.path for request in catalog_server.requests] == [SEARCH] * 3
    assert search_params(catalog_server) == [
        {"rows": "1000", "start": str(start), "sort": "id asc"} for start in (0, 1000, 2000)
    ]
    catalog = LocalCatalog(store).list_datasets(source.id)
    assert sorted(dataset["harvest"]["remote_id"] for dataset in catalog) == sorted(p["id"] for p in packages)
    first = next(dataset for dataset in catalog if dataset["harvest"]["remote_id"] == packages[7]["id"])
    assert (first["title"], first["license"], first["frequency"]) == ("Jeu de données n°7", "odc-odbl", "monthly")
    assert first["harvest"]["remote_url"] == f"{catalog_server.url}/dataset/jeu-de-donnees-7"
    assert [(r["title"], r["format"], r["filesize"]) for r in first["resources"]] == [
        ("Comptages (CSV)", "csv", 1007), ("API", "json", None)]


def test_a_filtered_harvest_of_more_than_1000_matches_is_complete(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    packages = [ckan_package(n) for n in range(1503)]
    catalog_server.handle(SEARCH, ckan_portal(packages))
    source = add_source(store, catalog_server.url, filters=[
        {"key": "tags", "value": "Transport"},
        {"key": "organization", "value": "commune", "type": "exclude"},
    ], extra_configs=[{"key": "fq", "value": "res_format:CSV"}])

    job = harvester.run(source)

    expected = {p["id"] for p in packages if p["organization"]["name"] != "commune"}
    assert len(expected) == 1002
    assert job.status == "done"
    assert {item.remote_id for item in job.items} == expected and len(job.items) == len(expected)
    query = {"rows": "1000", "sort": "id asc", "q": 'tags:"Transport" AND -organization:"commune"',
             "fq": "res_format:CSV"}
    assert search_params(catalog_server) == [query | {"start": "0"}, query | {"start": "1000"}]


def test_a_portal_capping_rows_is_still_read_completely(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    catalog_server.handle(SEARCH, ckan_portal([ckan_package(n) for n in range(250)], rows_max=100))
    job = harvester.run(add_source(store, catalog_server.url))
    assert summary(job) == {"done": 250}
    assert [params["start"] for params in search_params(catalog_server)] == ["0", "100", "200"]


def test_a_dataset_shifted_onto_the_next_page_is_harvested_once(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    packages = sorted((ckan_package(n) for n in range(250)), key=lambda package: package["id"])

    def shifted(request: Request) -> Reply:  # a dataset created upstream while page 1 was being read
        start = int(request.query["start"])
        start = max(start - 1, 0)
        return ckan_answer({"count": 250, "results": packages[start:start + 100]})

    catalog_server.handle(SEARCH, shifted)
    job = harvester.run(add_source(store, catalog_server.url, extra_configs=[{"key": "rows", "value": 100}]))

    assert job.status == "done"
    assert sorted(item.remote_id for item in job.items) == [package["id"] for package in packages]
    assert [params["start"] for params in search_params(catalog_server)] == ["0", "100", "200"]


def test_package_list_and_show_only_when_package_search_is_unavailable(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    packages = {f"jeu-de-donnees-{n}": ckan_package(n) for n in range(3)}
    catalog_server.serve(SEARCH, "<html><body>Not Found</body></html>", "text/html", status=404)
    catalog_server.handle(f"{ACTION}/package_list", lambda request: ckan_answer([*packages, "prive"]))

    def show(request: Request) -> Reply:
        if request.query["id"] == "prive":
            body = {"success": False, "error": {"__type": "Authorization Error", "message": "Access denied"}}
            return Reply(json.dumps(body), "application/json", status=403)
        return ckan_answer(packages[request.query["id"]])

    catalog_server.handle(f"{ACTION}/package_show", show)
    job = harvester.run(add_source(store, catalog_server.url + "/"))

    assert [request.target for request in catalog_server.requests] == [
        f"{SEARCH}?rows=1000&start=0&sort=id asc", f"{ACTION}/package_list",
        *(f"{ACTION}/package_show?id={name}" for name in [*packages, "prive"]),
    ]
    assert job.status == "done-errors"
    assert {item.remote_id: item.status for item in job.items} == {
        **{package["id"]: "done" for package in packages.values()}, "prive": "failed"}
    failed = next(item for item in job.items if item.status == "failed")
    assert failed.errors[0].message == (
        f"Authorization Error: Access denied (HTTP 403 from {catalog_server.url}{ACTION}/package_show)")


def test_filters_without_package_search_fail_the_job_rather_than_harvest_everything(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    catalog_server.serve(SEARCH, "Not found", "text/plain", status=404)
    job = harvester.run(add_source(store, catalog_server.url, filters=[{"key": "groups", "value": "mobilite"}]))
    assert job.status == "failed"
    assert job.errors[0].message == ("Filters need package_search, which this portal does not offer: "
                                     f"HTTP 404 Not Found from {catalog_server.url}{SEARCH}")
    assert [request.path for request in catalog_server.requests] == [SEARCH]


def test_the_api_key_is_sent_and_never_shown(cli: Cli, api: ApiClient, catalog_server: CatalogServer) -> None:
    catalog_server.handle(SEARCH, ckan_portal([ckan_package(n) for n in range(3)]))
    config = {"extra_configs": [{"key": "api_key", "value": "ckan-token-8f3a"}]}
    added = cli.json("source", "add", "portal", catalog_server.url, "--backend", "ckan", "--config", json.dumps(config))

    job = cli.json("run", "portal")

    assert job["status"] == "done" and len(job["items"]) == 3
    request = catalog_server.requests_to(SEARCH)[0]
    assert request.headers["Authorization"] == "ckan-token-8f3a"
    assert request.query["include_private"] == "true"
    listed, shown = api.get("/sources/"), api.send("GET", f"/source/{added['id']}/")
    assert (listed.status_code, shown.status_code) == (200, 200)
    outputs = (added, cli.json("source", "show", "portal"), cli.json("source", "list"), listed.json(), shown.json())
    for output in outputs:
        text = json.dumps(output)
        assert "ckan-token-8f3a" not in text and '"value": "********"' in text
    assert cli.json("source", "show", "portal")["config"]["extra_configs"] == [{"key": "api_key", "value": "********"}]
    assert "ckan-token-8f3a" not in cli("source", "show", "portal").stdout
    described = next(backend for backend in cli.json("backends") if backend["id"] == "ckan")
    assert next(option for option in described["extra_configs"] if option["key"] == "api_key")["secret"] is True


def test_without_api_key_no_authorization_header_and_no_private_datasets(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    catalog_server.handle(SEARCH, ckan_portal([ckan_package(1)]))
    harvester.run(add_source(store, catalog_server.url))
    request = catalog_server.requests_to(SEARCH)[0]
    assert "Authorization" not in request.headers and "include_private" not in request.query


# --- error answers ----------------------------------------------------------------------------------------

ACCESS_DENIED = {"help": "", "success": False, "error": {"__type": "Authorization Error", "message": "Access denied"}}


@pytest.mark.parametrize(("fault", "expected"), [
    (Reply(json.dumps(ACCESS_DENIED), "application/json"),
     "Authorization Error: Access denied (from {search})"),
    (Reply(json.dumps(ACCESS_DENIED), "application/json", status=403),
     "Authorization Error: Access denied (HTTP 403 from {search})"),
    (Reply("<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html; charset=utf-8"),
     "{search}?rows=1000&start=0&sort=id+asc returned HTML where JSON was expected"),
    (Reply("Internal Server Error", "text/plain", status=500),
     "HTTP 500 Internal Server Error from {search}"),
    (Reply(json.dumps(ACCESS_DENIED), "application/json", delay=3),
     "Timed out after 0.4s waiting for {search}"),
], ids=["success-false", "403-json", "html", "http-500", "timeout"])
def test_an_error_answer_fails_the_job_with_its_message_and_changes_nothing(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch, fault: Reply, expected: str
) -> None:
    monkeypatch.setenv("HARVEST_HTTP_READ_TIMEOUT", "0.4")
    monkeypatch.setenv("HARVEST_HTTP_RETRIES", "0")
    harvester = Harvester(store)
    catalog_server.handle(SEARCH, ckan_portal([ckan_package(n) for n in range(5)]))
    source = add_source(store, catalog_server.url)
    assert harvester.run(source).status == "done"
    before = LocalCatalog(store).list_datasets(source.id)

    catalog_server.handle(SEARCH, lambda request: fault)
    job = harvester.run(source)

    assert job.status == "failed"
    assert [error.message for error in job.errors] == [expected.format(search=catalog_server.url + SEARCH)]
    assert job.items == []
    after = LocalCatalog(store).list_datasets(source.id)
    assert after == before and len(after) == 5
    assert all(dataset["archived"] is None for dataset in after)


# --- mapping ----------------------------------------------------------------------------------------------


def mapped(package: dict[str, Any]) -> Any:
    return map_package(package, "http://data.test.org", load_license_file())


def test_a_package_is_mapped_field_by_field() -> None:
    result = mapped(ckan_package(12))
    dataset = result.dataset
    assert dataset.title == "Jeu de données n°12"
    assert dataset.description == "Comptages du **réseau 12**."
    assert dataset.tags == ["ligne-5", "transport"]
    assert dataset.license == "odc-odbl"
    assert dataset.frequency == "monthly"
    assert dataset.temporal_coverage.model_dump() == {
        "start": datetime(2019, 1, 1, tzinfo=UTC), "end": datetime(2020, 2, 29, tzinfo=UTC)}
    assert dataset.spatial.geom.model_dump() == {"type": "MultiPolygon", "coordinates": [
        [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.9], [2.2, 48.9], [2.2, 48.8]]]]}
    assert dataset.extras == {"producer": "Service des mobilités", "ckan:spatial-text": "Île-de-France"}
    assert dataset.private is False
    assert result.remote.remote_url == "http://data.test.org/dataset/jeu-de-donnees-12"
    assert result.remote.created_at == datetime(2021, 3, 4, 10, 11, 12, 123456, tzinfo=UTC)
    assert result.remote.modified_at == datetime(2024, 1, 2, 3, 4, 5, 1, tzinfo=UTC)
    csv, api = dataset.resources
    assert csv.model_dump(exclude={"harvest"}) | {"checksum": csv.checksum.model_dump()} == {
        "id": None, "title": "Comptages (CSV)", "url": "https://files.example.org/12/comptages.csv",
        "description": "Un fichier *par jour*", "type": "main", "filetype": "remote", "format": "csv",
        "mime": "text/csv", "filesize": 1012,
        "checksum": {"type": "sha1", "value": hashlib.sha1(b"file 12").hexdigest()}, "extras": {},
        "created_at": datetime(2021, 3, 4, 10, 11, 12, 123456, tzinfo=UTC),
        "last_modified": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    package_id = ckan_package(12)["id"]
    assert csv.harvest.uri == f"http://data.test.org/dataset/{package_id}/resource/0000000c-aaaa-4bbb-8ccc-000000000001"
    assert (api.type, api.format, api.mime, api.checksum, api.last_modified) == ("api", "json", None, None, None)


@pytest.mark.parametrize(("value", "frequency", "kept"), [
    ("http://publications.europa.eu/resource/authority/frequency/WEEKLY", "weekly", None),
    ("quarterly", "quarterly", None),
    ("tous les mardis", None, "tous les mardis"),
])
def test_frequency_from_uri_or_udata_id_else_kept_as_extra(value: str, frequency: str | None, kept: str | None) -> None:
    dataset = mapped(ckan_package(1, extras=[{"key": "frequency", "value": value}])).dataset
    assert dataset.frequency == frequency
    assert dataset.extras.get("ckan:frequency") == kept


def test_other_geometries_are_kept_out_with_a_warning_not_a_failure() -> None:
    point = {"type": "Point", "coordinates": [2.35, 48.85]}
    result = mapped(ckan_package(1, extras=[{"key": "spatial", "value": point},
                                            {"key": "spatial-uri", "value": "http://id.insee.fr/geo/region/11"}]))
    assert result.dataset.spatial is None
    assert result.warnings == ["Spatial extra is a Point, only Polygon and MultiPolygon are kept"]
    assert result.dataset.extras == {"ckan:spatial-uri": "http://id.insee.fr/geo/region/11"}


def test_the_package_url_is_the_remote_url_only_when_it_is_a_valid_url() -> None:
    assert mapped(ckan_package(1, url="https://producer.example.org/trafic")).remote.remote_url == \
        "https://producer.example.org/trafic"
    assert mapped(ckan_package(1, url="voir le site du producteur")).remote.remote_url == \
        "http://data.test.org/dataset/jeu-de-donnees-1"


@pytest.mark.parametrize(("value", "expected"), [
    ("md5:" + "A" * 32, ("md5", "a" * 32)),
    ("b" * 64, ("sha256", "b" * 64)),
    ("c" * 12, None),
])
def test_resource_hash_becomes_a_checksum_by_prefix_or_length(value: str, expected: tuple[str, str] | None) -> None:
    package = ckan_package(1)
    package["resources"][0]["hash"] = value
    checksum = mapped(package).dataset.resources[0].checksum
    assert ((checksum.type, checksum.value) if checksum else None) == expected


@pytest.mark.parametrize(("changes", "reason"), [
    ({"resources": []}, "Package jeu-de-donnees-1 has no resources"),
    ({"state": "deleted"}, "Package jeu-de-donnees-1 is deleted on the remote"),
])
def test_packages_that_cannot_be_harvested_are_skipped_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(SkipRecord, match=f"^{reason}$"):
        mapped(ckan_package(1, **changes))


def test_resources_keep_their_ids_across_runs_whatever_their_order(
    store: Store, harvester: Harvester, catalog_server: CatalogServer
) -> None:
    package = ckan_package(3)
    catalog_server.handle(SEARCH, ckan_portal([package]))
    source = add_source(store, catalog_server.url)
    harvester.run(source)
    first = {r["harvest"]["uri"]: r["id"] for r in LocalCatalog(store).list_datasets(source.id)[0]["resources"]}

    reordered = ckan_package(3, resources=[{**resource, "url": resource["url"] + "?v=2"}
                                           for resource in reversed(package["resources"])])
    catalog_server.handle(SEARCH, ckan_portal([reordered]))
    job = harvester.run(source)

    assert job.items[0].logs[-1].message == "Dataset updated"
    second = LocalCatalog(store).list_datasets(source.id)[0]["resources"]
    assert [r["url"].endswith("?v=2") for r in second] == [True, True]
    assert {r["harvest"]["uri"]: r["id"] for r in second} == first


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="'rows' must be at least 1"):
        CkanBackend.validate_config({"extra_configs": [{"key": "rows", "value": 0}]})


def test_the_source_url_may_be_the_api_root() -> None:
    backend = CkanBackend("https://ckan.example.org/data/api/3/action/", HarvestConfig(), BackendContext(Http()))
    assert backend.base_url == "https://ckan.example.org/data"
    assert backend.map(Record("x", data=ckan_package(1))).remote.remote_url == \
        "https://ckan.example.org/data/dataset/jeu-de-donnees-1"


# --- DKAN -------------------------------------------------------------------------------------------------


def test_dkan_real_answer_with_french_dates_sizes_and_license(
    store: Store, catalog_server: CatalogServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    licenses = json.loads((Path(__file__).resolve().parents[1] / "harvesters/data/licenses.json").read_text())
    for entry in licenses:  # a portal whose list knows Etalab's former Licence Ouverte page
        if entry["id"] == "fr-lo":
            entry["alternate_urls"].append("http://www.etalab.gouv.fr/pages/Licence_Ouverte_Open_licence-5899923.html")
    (tmp_path / "licenses.json").write_text(json.dumps(licenses))
    monkeypatch.setenv("HARVEST_LICENSES_FILE", str(tmp_path / "licenses.json"))
    name = "antennes-regionales-de-la-region-hauts-de-france-au-01102019-0"
    catalog_server.serve(SEARCH, "<html><body>Page introuvable</body></html>", "text/html", status=404)
    catalog_server.serve(f"{ACTION}/package_list", json.dumps({"success": True, "result": [name]}), "application/json")
    catalog_server.serve_fixture(f"{ACTION}/package_show?id={name}", "ckan/dkan-french-w-license.json",
                                 "application/json")
    source = add_source(store, catalog_server.url, backend="dkan")

    job = Harvester(store).run(source)

    assert job.status == "done"
    assert [item.remote_id for item in job.items] == ["04be6288-696d-4331-850d-a144871a7e3a"]
    dataset = LocalCatalog(store).list_datasets(source.id)[0]
    assert dataset["title"] == "Antennes régionales de la Région Hauts-de-France (au 01/10/2019)"
    assert dataset["description"] == (
        "Liste et coordonnées des antennes de proximité du conseil régional Hauts-de-France.")
    assert dataset["license"] == "fr-lo"
    assert dataset["private"] is False
    assert "services-d-utilite-publique-et-services-publics" in dataset["tags"] and len(dataset["tags"]) == 13
    assert dataset["harvest"]["created_at"] == "2019-12-10T09:23:00Z"
    assert dataset["harvest"]["modified_at"] == "2019-09-30T22:00:00Z"
    assert dataset["harvest"]["remote_url"] == (
        "https://opendata.hautsdefrance.fr/?q=dataset/antennes-regionales-de-la-region-hauts-de-france-au-01102019-0")
    assert dataset["extras"]["frequency-of-update"] == "asNeeded"
    xlsx, viewer = dataset["resources"]
    assert (xlsx["format"], xlsx["mime"], xlsx["filesize"]) == ("xlsx", None, 42)
    assert (xlsx["created_at"], xlsx["last_modified"]) == ("2019-12-19T03:00:00Z", "2019-12-19T03:00:00Z")
    assert (viewer["title"], viewer["format"], viewer["filesize"]) == ("Visionneuse mviewer", None, None)


def test_dkan_numbered_resource_ids_identify_resources() -> None:
    package = json.loads(fixture_path("ckan/dkan-french-w-license.json").read_text())["result"][0]
    package["resources"] = [{**resource, "id": number} for number, resource in enumerate(package["resources"], 1)]
    resources = map_package(package, "http://data.test.org", honor_private=False).dataset.resources
    assert [resource.harvest.uri.rsplit("/", 2)[1:] for resource in resources] == [["resource", "1"], ["resource", "2"]]


# --- real portals' packages (../shared/corpus) ---------------------------------------------------------------


def corpus_packages(name: str) -> list[dict[str, Any]]:
    """The packages of a corpus answer: a package_search answer, a package, or a list of packages."""
    data = json.loads(shared(CORPUS / "ckan" / name).read_text())
    if isinstance(data, list):
        return data
    return data["result"]["results"] if "result" in data else [data]


def test_datagov_temporal_extra_maintainer_and_publisher() -> None:
    packages = {package["name"]: mapped(package) for package in corpus_packages("datagov-hud-packages.json")}
    lender = packages["hud-subprime-and-manufactured-home-lender-list-37073"].dataset
    assert lender.temporal_coverage.model_dump(mode="json") == {"start": "1993-01-01", "end": "2005-12-31"}
    assert [(c.name, c.email, c.role) for c in lender.contact_points] == [
        ("Shula Markland", "Shula.Markland@HUD.gov", "contact"),
        ("US Department of Housing and Urban Development", None, "publisher"),
    ]
    assert "temporal" not in lender.extras and "publisher" not in lender.extras
    assert lender.extras["identifier"] == "HUD001"
    assert lender.resources[0].format == "xls"  # no format given: the file's extension
    rental = packages["the-2001-residential-finance-survey-rental-property-file-e0238"].dataset
    assert rental.temporal_coverage.model_dump(mode="json") == {"start": "2001-01-01", "end": "2001-12-31"}
    owners = packages["the-2001-residential-finance-survey-owners-property-file-69c76"].dataset
    assert owners.temporal_coverage is None  # it has no temporal extra


def test_an_unreadable_temporal_extra_is_kept() -> None:
    package = corpus_packages("datagov-hud-packages.json")[0]
    package["extras"] = [{"key": "temporal", "value": "since the 90s"}]
    dataset = mapped(package).dataset
    assert (dataset.temporal_coverage, dataset.extras["ckan:temporal"]) == (None, "since the 90s")


def test_hdx_user_ids_are_not_names_and_hdx_dates_and_frequency_are_read() -> None:
    packages = {package["name"]: package for package in corpus_packages("hdx-dataset-search.json")}
    dataset = mapped(packages["acled-conflict-data-for-guinea"]).dataset
    assert [(c.name, c.email, c.role) for c in dataset.contact_points] == [
        ("c.raleigh@acleddata.com", "c.raleigh@acleddata.com", "contact"),  # maintainer is a user id
        ("acled", "c.raleigh@acleddata.com", "creator"),
    ]
    assert dataset.temporal_coverage.model_dump(mode="json") == {"start": "1997-01-01", "end": "2015-12-31"}
    assert dataset.frequency == "monthly"  # data_update_frequency "30"
    unesco = mapped(corpus_packages("hdx-unesco-package.json")[0]).dataset
    assert unesco.contact_points == []  # a maintainer id and no email: nobody to name
    assert unesco.temporal_coverage.model_dump(mode="json") == {"start": "1970-01-01", "end": "2019-12-31"}
    assert unesco.frequency == "quarterly"  # "90"
    assert len(unesco.resources) == 9


def test_a_search_answer_without_the_resources_it_counts_says_so() -> None:
    libya = corpus_packages("hdx-dataset-search.json")[0]
    with pytest.raises(SkipRecord, match=r"^Package acled-conflict-data-for-libya has no resources in the "
                                         r"portal's answer \(it counts 1\)$"):
        mapped(libya)


def test_author_and_maintainer_are_contacts_in_their_roles() -> None:
    species = mapped(corpus_packages("demo-ckan-org/packages.json")[0]).dataset
    assert [(c.name, c.email, c.role) for c in species.contact_points] == [
        ("TKKIM", "misoh049@gmail.com", "contact"), ("TKKIM", "misoh049@gmail.com", "creator")]
    blank = mapped(corpus_packages("demo-ckan-org/packages.json")[1]).dataset
    assert blank.contact_points == []  # empty strings everywhere


def test_a_license_the_portal_does_not_list_is_kept_as_text() -> None:
    package = corpus_packages("hdx-unesco-package.json")[0]
    dataset = map_package(package, "https://data.humdata.org", LicenseIndex([{"id": "lov2", "title": "Licence"}])
                          ).dataset
    assert dataset.license is None
    assert dataset.extras[LICENSE_EXTRA] == "Creative Commons Attribution for Intergovernmental Organisations"


def test_datagov_packages_harvest_with_their_contacts_and_coverages(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    catalog_server.handle(SEARCH, ckan_portal(corpus_packages("datagov-hud-packages.json")))
    job = cli.json("run", catalog_server.url, "--backend", "ckan")
    assert job["status"] == "done", job["errors"]
    assert [item["status"] for item in job["items"]] == ["done"] * 3
    found = {dataset["title"]: dataset for dataset in cli.json("datasets", "list")}
    lender = cli.json("datasets", "show", found["HUD Subprime and Manufactured Home Lender List"]["id"])
    assert lender["temporal_coverage"] == {"start": "1993-01-01", "end": "2005-12-31"}
    assert [(c["name"], c["email"], c["role"]) for c in lender["contact_points"]] == [
        ("Shula Markland", "Shula.Markland@HUD.gov", "contact"),
        ("US Department of Housing and Urban Development", None, "publisher"),
    ]
