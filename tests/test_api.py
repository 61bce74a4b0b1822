"""The operator HTTP API, over HTTP against uvicorn on 127.0.0.1: udata's documented harvest endpoints."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvesters.apikeys import ApiKeys, api_keys
from harvesters.models import FINISHED_JOB_STATUSES
from harvesters.pipeline import Harvester
from harvesters.settings import settings
from harvesters.store import Store
from harvesters.store.slugs import slug_of
from harvesters.targets import LocalCatalog
from harvesters.vault import Vault
from tests.helpers import datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.workers import Processes
from tests.shared import documented_path
from tests.tiers import starts

JOB_TIMEOUT = 60.0


def documented(name: str) -> Any:
    return json.loads(documented_path(name).read_text())


def assert_documented_keys(ours: Any, reference: Any, where: str = "") -> None:
    """Every key of the documented shape is in ours, recursively (where ours has a value to compare)."""
    if isinstance(reference, dict) and isinstance(ours, dict):
        missing = set(reference) - set(ours)
        assert not missing, f"{where or 'body'} lacks documented keys {sorted(missing)}"
        for key, value in reference.items():
            assert_documented_keys(ours[key], value, f"{where}.{key}")
    elif isinstance(reference, list) and isinstance(ours, list) and reference and ours:
        for value in ours:
            assert_documented_keys(value, reference[0], f"{where}[]")


def dcat_source(api: ApiClient, catalog_server: CatalogServer, name: str = "Test catalog", **values: Any) -> Any:
    url = catalog_server.serve_fixture(f"/{slug_of(name)}/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    response = api.send("POST", "/sources/", json={"name": name, "url": url, "backend": "dcat", **values})
    assert response.status_code == 201, response.text
    return response.json()


def list_source(api: ApiClient, catalog_server: CatalogServer, entries: list[dict[str, Any]], **values: Any) -> Any:
    url = catalog_server.serve("/datasets.json", datasets_page(*entries), "application/json")
    response = api.send("POST", "/sources/", json={"name": "List", "url": url, "backend": "jsonlist", **values})
    assert response.status_code == 201, response.text
    return response.json()


def follow(api: ApiClient, job_id: str) -> Any:
    """Poll GET /job/{id}/ until the job has finished."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job = api.get(f"/job/{job_id}/").json()
        if job["status"] in FINISHED_JOB_STATUSES:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {JOB_TIMEOUT}s"
        time.sleep(0.05)


def run(api: ApiClient, source_id: str) -> Any:
    response = api.send("POST", f"/source/{source_id}/run/")
    assert response.status_code == 200, response.text
    return follow(api, response.json()["last_job"]["id"])


# --- the documented shapes -------------------------------------------------------------------------------


def test_documented_create_body_creates_the_source(api: ApiClient, catalog_server: CatalogServer) -> None:
    body = documented("harvest-source-create-body.json")
    body |= {
        "name": "Catalogue DCAT de la ville",
        "description": "Les jeux de données de la ville",
        "backend": "dcat",
        "url": catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml"),
        "config": {"extra_configs": [{"key": "language", "value": "en"}]},
        "organization": body["organization"] | {"class": "Organization", "id": "534fff75a3a7292c64a77de4",
                                                 "acronym": "VDL", "slug": "ville-de-lyon"},
        "owner": body["owner"] | {"class": "User", "id": "5f8a1c0e9d1a4b2c3d4e5f60", "slug": "jane-doe"},
    }
    created = api.send("POST", "/sources/", json=body)
    assert created.status_code == 201, created.text
    source = created.json()
    assert_documented_keys(source, documented("harvest-source.json"))
    assert (source["name"], source["backend"], source["url"], source["description"]) == (
        body["name"], "dcat", body["url"], body["description"])
    assert (source["active"], source["autoarchive"]) == (False, True)
    assert source["organization"]["id"] == "534fff75a3a7292c64a77de4"
    assert source["owner"]["id"] == "5f8a1c0e9d1a4b2c3d4e5f60"
    assert source["config"]["extra_configs"] == [{"key": "language", "value": "en"}]
    assert source["validation"]["state"] == "pending"
    assert api.get(f"/source/{source['slug']}/").json()["id"] == source["id"]
    assert api.get(f"/source/{source['id']}/").json()["name"] == body["name"]


def test_run_over_http_is_followed_to_done(api: ApiClient, catalog_server: CatalogServer, store: Store) -> None:
    source = dcat_source(api, catalog_server)
    launched = api.send("POST", f"/source/{source['id']}/run/")
    assert launched.status_code == 200, launched.text
    assert launched.json()["last_job"]["status"] in ("pending", "initializing", "processing")
    job = follow(api, launched.json()["last_job"]["id"])
    assert job["status"] == "done"
    assert sorted(item["remote_id"] for item in job["items"]["data"]) == ["1", "2", "3", "4"]
    assert all(item["status"] == "done" and item["dataset"]["id"] for item in job["items"]["data"])
    assert (job["items"]["total"], job["items"]["by_status"]["done"], job["progress"]) == (4, 4, None)
    assert len(LocalCatalog(store).list_datasets(source["id"])) == 4
    assert_documented_keys(job["items"]["data"], documented("harvest-job.json")["items"])
    shown = api.get(f"/source/{source['id']}/").json()
    assert shown["last_job"]["id"] == job["id"] and shown["last_job"]["status"] == "done"
    assert shown["last_job"]["items"] == {"total": 4, "by_status": job["items"]["by_status"]}
    assert_documented_keys(shown, documented("harvest-source.json") | {"last_job": None})


def test_run_over_http_goes_through_the_workers_with_redis(
    api: ApiClient, catalog_server: CatalogServer, redis_url: str, tmp_path: Path
) -> None:
    source = dcat_source(api, catalog_server)
    job_id = api.send("POST", f"/source/{source['id']}/run/").json()["last_job"]["id"]
    assert api.get(f"/job/{job_id}/").json()["status"] == "pending"  # enqueued: no worker yet
    with Processes(tmp_path) as processes:
        processes.worker()
        job = follow(api, job_id)
    assert job["status"] == "done", job["errors"]
    assert sorted(item["remote_id"] for item in job["items"]["data"]) == ["1", "2", "3", "4"]


def test_job_body_carries_item_errors_and_logs(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = list_source(api, catalog_server, [
        {"id": "a", "title": "A"}, {"id": "b", "error": "Broken record"}, {"id": "c"},
    ])
    job = run(api, source["id"])
    assert job["status"] == "done-errors"
    items = {item["remote_id"]: item for item in job["items"]["data"]}
    assert items["b"]["status"] == "failed" and items["b"]["errors"][0]["message"] == "Broken record"
    assert items["c"]["status"] == "skipped" and items["c"]["logs"][0]["message"] == "missing title"
    assert items["a"]["logs"][-1]["message"] == "Dataset created"
    assert_documented_keys({key: value for key, value in job.items() if key != "items"},
                           {key: value for key, value in documented("harvest-job.json").items() if key != "items"})


def test_a_second_run_while_one_runs_is_refused(api: ApiClient, catalog_server: CatalogServer) -> None:
    release = threading.Event()

    def slow_catalog(request: Request) -> Reply:
        release.wait(JOB_TIMEOUT)
        return Reply(datasets_page({"id": "a", "title": "A"}), "application/json")

    url = catalog_server.handle("/slow.json", slow_catalog)
    source = api.send("POST", "/sources/", json={"name": "Slow", "url": url, "backend": "jsonlist"}).json()
    first = api.send("POST", f"/source/{source['id']}/run/").json()["last_job"]["id"]
    second = api.send("POST", f"/source/{source['id']}/run/")
    release.set()
    assert second.status_code == 409
    assert first in second.json()["message"]
    assert follow(api, first)["status"] == "done"
    assert api.send("POST", f"/source/{source['id']}/run/").status_code == 200


# --- sources: read, change, delete --------------------------------------------------------------------------


def test_sources_are_paged_and_filtered(api: ApiClient, catalog_server: CatalogServer) -> None:
    for n in range(5):
        dcat_source(api, catalog_server, f"Paged {n}", organization={"id": "org-even" if n % 2 == 0 else "org-odd"})
    dcat_source(api, catalog_server, "Other")
    first = api.get("/sources/", params={"q": "paged", "page_size": 2}).json()
    assert (first["total"], first["page"], first["page_size"], first["previous_page"]) == (5, 1, 2, None)
    assert [source["name"] for source in first["data"]] == ["Paged 0", "Paged 1"]
    second = httpx.get(first["next_page"]).json()
    assert [source["name"] for source in second["data"]] == ["Paged 2", "Paged 3"]
    third = httpx.get(second["next_page"]).json()
    assert ([source["name"] for source in third["data"]], third["next_page"]) == (["Paged 4"], None)
    assert httpx.get(third["previous_page"]).json()["data"] == second["data"]
    assert api.get("/sources/", params={"q": "paged", "page": 4, "page_size": 2}).json()["data"] == []
    assert api.get("/sources/").json()["total"] == 6
    by_owner = api.get("/sources/", params={"owner": "org-even"}).json()
    assert [source["name"] for source in by_owner["data"]] == ["Paged 0", "Paged 2", "Paged 4"]


def test_a_query_parameter_the_operation_does_not_take_is_refused(
    api: ApiClient, catalog_server: CatalogServer
) -> None:
    source = dcat_source(api, catalog_server)
    misspelt = api.send("PUT", f"/source/{source['id']}/", params={"forse": "true"}, json={"name": "Renamed"})
    assert misspelt.status_code == 400 and "'forse'" in misspelt.json()["message"]
    assert "force" in misspelt.json()["message"]
    assert api.get(f"/source/{source['id']}/").json()["name"] == source["name"]
    listed = api.get("/sources/", params={"page_sise": 2})
    assert listed.status_code == 400 and "'page_sise'" in listed.json()["message"]
    assert api.get("/sources/", params={"page_size": 2}).status_code == 200


def test_delete_marks_the_source_deleted_and_keeps_it_readable(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = dcat_source(api, catalog_server)
    assert api.send("DELETE", f"/source/{source['id']}/").status_code == 204
    shown = api.get(f"/source/{source['id']}/").json()
    assert shown["deleted"] is not None and shown["active"] is False
    assert api.get("/sources/").json()["total"] == 0
    assert [found["id"] for found in api.get("/sources/", params={"deleted": "true"}).json()["data"]] == [source["id"]]
    refused = api.send("POST", f"/source/{source['id']}/run/")
    assert refused.status_code == 400 and "deleted" in refused.json()["message"]


def test_put_changes_only_the_fields_sent(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = dcat_source(api, catalog_server, description="Old description", owner={"id": "owner-1"})
    changed = api.send("PUT", f"/source/{source['id']}/", json={"name": "Renamed", "description": None})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["description"], body["url"]) == ("Renamed", None, source["url"])
    assert body["owner"]["id"] == "owner-1"
    # a source read with GET and sent back (read-only keys included) is accepted
    roundtrip = api.send("PUT", f"/source/{source['id']}/", json=body | {"autoarchive": False})
    assert roundtrip.status_code == 200, roundtrip.text
    assert roundtrip.json()["autoarchive"] is False and roundtrip.json()["name"] == "Renamed"
    unknown = api.send("PUT", f"/source/{source['id']}/", json={"nmae": "typo"})
    assert unknown.status_code == 400 and "nmae" in unknown.json()["message"]


def test_validation_accepts_and_a_refusal_needs_a_comment(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = dcat_source(api, catalog_server)
    refused = api.send("POST", f"/source/{source['id']}/validate/", json={"state": "refused"})
    assert refused.status_code == 400 and "comment" in refused.json()["message"]
    accepted = api.send("POST", f"/source/{source['id']}/validate/", json={"state": "accepted", "comment": "OK"})
    validation = accepted.json()["validation"]
    assert (validation["state"], validation["comment"], validation["by"]["first_name"]) == ("accepted", "OK", "tests")
    assert validation["on"] is not None
    again = api.send("POST", f"/source/{source['id']}/validate/", json={"state": "refused", "comment": "Bad data"})
    assert (again.json()["validation"]["state"], again.json()["validation"]["comment"]) == ("refused", "Bad data")
    assert api.get(f"/source/{source['id']}/").json()["validation"] == again.json()["validation"]


def test_schedule_is_validated_set_and_removed(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = dcat_source(api, catalog_server)
    path = f"/source/{source['id']}/schedule/"
    assert api.send("POST", path, json="0 3 * * 1").json()["schedule"] == "0 3 * * 1"
    plain = api.send("POST", path, content="@daily", headers={"Content-Type": "text/plain"})
    assert plain.json()["schedule"] == "@daily"
    invalid = api.send("POST", path, json="every day at 3")
    assert invalid.status_code == 400 and "schedule" in invalid.json()["message"]
    assert api.get(f"/source/{source['id']}/").json()["schedule"] == "@daily"
    assert api.send("DELETE", path).status_code == 204
    assert api.get(f"/source/{source['id']}/").json()["schedule"] is None


def test_preview_writes_nothing(api: ApiClient, catalog_server: CatalogServer, store: Store) -> None:
    source = dcat_source(api, catalog_server)
    preview = api.send("GET", f"/source/{source['id']}/preview/")
    assert preview.status_code == 200, preview.text
    job = preview.json()
    assert job["status"] == "done"
    assert sorted(item["remote_id"] for item in job["items"]) == ["1", "2", "3", "4"]
    assert [item["logs"][-1]["message"] for item in job["items"]] == ["Dataset created (preview)"] * 4
    assert LocalCatalog(store).list_datasets(source["id"]) == []
    assert api.get(f"/source/{source['id']}/jobs/").json()["total"] == 0
    assert api.get(f"/job/{job['id']}/").status_code == 404


# --- jobs and items ---------------------------------------------------------------------------------------


def test_jobs_are_paged_newest_first(api: ApiClient, catalog_server: CatalogServer, store: Store) -> None:
    source = dcat_source(api, catalog_server)
    job_ids = [Harvester(store).run(store.get_source(source["id"])).id for _ in range(3)]
    first = api.get(f"/source/{source['slug']}/jobs/", params={"page_size": 2}).json()
    assert first["total"] == 3
    assert [job["id"] for job in first["data"]] == job_ids[::-1][:2]
    assert [job["id"] for job in httpx.get(first["next_page"]).json()["data"]] == job_ids[:1]
    assert_documented_keys(first["data"][0], documented("harvest-job.json"))


def test_items_of_a_big_job_are_paged_by_status(api: ApiClient, catalog_server: CatalogServer) -> None:
    entries = [{"id": f"d{n:03}", "title": f"D{n}"} if n % 4 else {"id": f"d{n:03}", "error": f"Broken {n}"}
               for n in range(600)]
    source = list_source(api, catalog_server, entries)
    job = run(api, source["id"])
    assert job["items"]["total"] == 600 and len(job["items"]["data"]) == 20  # the job's page shows the first 20
    assert job["items"]["by_status"] | {} == {"pending": 0, "started": 0, "done": 450, "failed": 150, "skipped": 0,
                                              "archived": 0}
    assert job["problems"][0] == {"status": "failed", "level": "error", "message": "Broken 0", "count": 1}
    third = httpx.get(httpx.get(job["items"]["next_page"]).json()["items"]["next_page"]).json()["items"]
    assert [item["remote_id"] for item in third["data"]] == [f"d{n:03}" for n in range(40, 60)]
    failed = api.get(f"/job/{job['id']}/items/", params={"status": "failed", "page_size": 100}).json()
    assert failed["total"] == 150
    assert failed["data"][0]["errors"][0]["message"] == "Broken 0"
    last = api.get(f"/job/{job['id']}/items/", params={"status": "failed", "page": 2, "page_size": 100}).json()
    assert [item["remote_id"] for item in last["data"]] == [f"d{n:03}" for n in range(400, 600, 4)]
    assert last["next_page"] is None
    assert api.get(f"/job/{job['id']}/items/").json()["total"] == 600
    wrong = api.get(f"/job/{job['id']}/items/", params={"status": "exploded"})
    assert wrong.status_code == 400 and "status" in wrong.json()["message"]


def test_unknown_source_and_job_are_404(api: ApiClient) -> None:
    for path in ("/source/nope/", "/source/nope/jobs/", "/job/nope/", "/job/nope/items/"):
        response = api.get(path)
        assert response.status_code == 404
        assert "nope" in response.json()["message"]
    assert api.send("POST", "/source/nope/run/").status_code == 404


def test_backends_list_their_options_with_types(api: ApiClient) -> None:
    backends = {backend["id"]: backend for backend in api.get("/backends/").json()}
    assert backends["dcat"]["label"] == "DCAT"
    options = {option["key"]: option for option in backends["jsonlist"]["extra_configs"]}
    assert (options["page_size"]["type"], options["page_size"]["default"]) == ("int", 10)
    assert options["token"]["secret"] is True and options["page_size"]["secret"] is False
    assert [feature["type"] for feature in backends["jsonlist"]["features"]] == ["bool"]


# --- validation messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"backend": "nosuch"}, "backend"),
    ({"backend": "jsonlist", "config": {"extra_configs": [{"key": "colour", "value": "red"}]}}, "colour"),
    ({"backend": "jsonlist", "config": {"extra_configs": [{"key": "page_size", "value": "many"}]}}, "page_size"),
    ({"backend": "jsonlist", "config": {"features": {"strict": "yes"}}}, "strict"),
    ({"backend": "jsonlist", "config": {"filters": [{"key": "tag", "value": "x", "type": "maybe"}]}}, "type"),
    ({"schedule": "61 * * * *"}, "schedule"),
    ({"url": "not a url"}, "url"),
    ({"url": "file:///etc/passwd"}, "url"),
    ({"active": "yes"}, "active"),
    ({"name": ""}, "name"),
    ({"organization": {"name": "no id"}}, "organization"),
])
def test_invalid_source_is_refused_naming_the_field(
    api: ApiClient, catalog_server: CatalogServer, change: dict[str, Any], field: str
) -> None:
    body = {"name": "Refused", "url": catalog_server.url + "/catalog.xml", "backend": "dcat"} | change
    created = api.send("POST", "/sources/", json=body)
    assert created.status_code == 400, created.text
    assert field in created.json()["message"]
    source = dcat_source(api, catalog_server)
    updated = api.send("PUT", f"/source/{source['id']}/", json=change)
    assert updated.status_code == 400, updated.text
    assert field in updated.json()["message"]
    unchanged = api.get(f"/source/{source['id']}/").json()
    assert (unchanged["backend"], unchanged["url"], unchanged["config"]) == ("dcat", source["url"], source["config"])


def test_body_type_errors_list_each_field(api: ApiClient) -> None:
    response = api.send("POST", "/sources/", json={"name": 3, "autoarchive": "no"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "url", "backend", "autoarchive"}


# --- auth and secrets ---------------------------------------------------------------------------------------

WRITES = [
    ("POST", "/sources/", {"json": {"name": "x", "url": "http://example.org", "backend": "dcat"}}),
    ("PUT", "/source/{id}/", {"json": {"name": "x"}}),
    ("DELETE", "/source/{id}/", {}),
    ("POST", "/source/{id}/validate/", {"json": {"state": "accepted"}}),
    ("POST", "/source/{id}/run/", {}),
    ("GET", "/source/{id}/preview/", {}),
    ("POST", "/source/{id}/schedule/", {"json": "@daily"}),
    ("DELETE", "/source/{id}/schedule/", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
def test_writes_need_a_valid_key(
    api: ApiClient, catalog_server: CatalogServer, store: Store, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    source = dcat_source(api, catalog_server)
    path = path.format(id=source["id"])
    missing = api.send(method, path, key=None, **kwargs)
    assert missing.status_code == 401 and "X-API-KEY" in missing.json()["message"]
    invalid = api.send(method, path, key="hvk_not-a-key", **kwargs)
    assert (invalid.status_code, invalid.json()["message"]) == (403, "Invalid API key")
    keys = ApiKeys(store)
    _, revoked = keys.create("former")
    keys.revoke("former")
    refused = api.send(method, path, key=revoked, **kwargs)
    assert refused.status_code == 403 and "revoked" in refused.json()["message"]
    unchanged = api.get(f"/source/{source['id']}/").json()
    assert (unchanged["deleted"], unchanged["schedule"], unchanged["name"], unchanged["last_job"]) == (
        None, None, "Test catalog", None)
    assert api.send(method, path, **kwargs).status_code in (200, 201, 204)


def test_permissions_say_what_the_caller_may_do(api: ApiClient, catalog_server: CatalogServer) -> None:
    source = dcat_source(api, catalog_server)
    assert set(source["permissions"].values()) == {True}
    assert set(api.get(f"/source/{source['id']}/").json()["permissions"].values()) == {False}
    assert set(api.send("GET", f"/source/{source['id']}/").json()["permissions"].values()) == {True}
    listed = api.get("/sources/").json()["data"][0]
    assert set(listed["permissions"]) == {"delete", "edit", "preview", "run", "schedule", "validate"}


def test_secrets_are_never_returned(api: ApiClient, catalog_server: CatalogServer, store: Store) -> None:
    secret = "s3cr3t-t0ken"
    source = list_source(api, catalog_server, [{"id": "a", "title": "A"}], config={
        "extra_configs": [{"key": "token", "value": secret}, {"key": "page_size", "value": 5}]})
    run(api, source["id"])
    responses = [
        json.dumps(source),
        api.get("/sources/").text,
        api.get(f"/source/{source['id']}/").text,
        api.send("GET", f"/source/{source['id']}/").text,
        api.send("POST", f"/source/{source['id']}/schedule/", json="@daily").text,
        api.send("PUT", f"/source/{source['id']}/", json=source).text,  # masked values sent back
        api.get(f"/source/{source['id']}/jobs/").text,
    ]
    assert not [text for text in responses if secret in text]
    extras = {extra["key"]: extra["value"] for extra in json.loads(responses[-2])["config"]["extra_configs"]}
    assert extras == {"token": "********", "page_size": 5}
    stored = store.get_source(source["id"]).config
    opened = Vault.from_settings(settings()).open_config(stored, {"token"}, source["name"])
    assert {"key": "token", "value": secret} in opened["extra_configs"]  # the masked round trip kept the real value


def test_keys_are_stored_hashed_and_managed_from_the_cli(cli: Any, store: Store) -> None:
    created = cli("apikey", "create", "portal-front")
    key = created.stdout.strip()
    assert key.startswith("hvk_") and len(key) > 40
    with store.begin() as conn:
        stored = conn.execute(api_keys.select()).mappings().all()
    assert [row["name"] for row in stored] == ["portal-front"]
    assert key not in json.dumps([dict(row) for row in stored], default=str)
    listed = cli.json("apikey", "list")
    assert [(entry["name"], entry["revoked_at"]) for entry in listed] == [("portal-front", None)]
    assert key not in cli("apikey", "list").stdout
    assert ApiKeys(store).check(key).name == "portal-front"  # type: ignore[union-attr]
    cli("apikey", "create", "portal-front", expect=2)
    cli("apikey", "revoke", "portal-front")
    assert cli.json("apikey", "list")[0]["revoked_at"] is not None
    cli("apikey", "revoke", "unknown-key", expect=2)


def test_openapi_document_and_docs_are_served(api: ApiClient) -> None:
    schema = api.get("/openapi.json").json()
    assert {"/api/1/harvest/sources/", "/api/1/harvest/source/{ident}/run/", "/api/1/harvest/job/{ident}/items/",
            "/api/1/harvest/backends/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-KEY"
    assert "400" in schema["paths"]["/api/1/harvest/sources/"]["post"]["responses"]
    assert "422" not in json.dumps(schema["paths"])
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.fixture
@starts("servers")
def served(database_url: str) -> Iterator[str]:
    """`harvest serve` in its own process, on a free port: the base URL of its API (accepting sources on 127.0.0.1,
    where the tests serve their catalogs, with HARVEST_ALLOW_PRIVATE_ADDRESSES)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("harvest")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    environment = {"HARVEST_DATABASE_URL": database_url, "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1"}
    process = subprocess.Popen(command, env=os.environ | environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/api/1/harvest"
    deadline = time.monotonic() + JOB_TIMEOUT
    try:
        while True:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "harvest serve did not answer"
            try:
                httpx.get(url + "/backends/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_harvest_serve_answers_with_keys_made_by_the_cli(served: str, cli: Any, catalog_server: CatalogServer) -> None:
    assert "dcat" in [backend["id"] for backend in httpx.get(served + "/backends/").json()]
    key = cli("apikey", "create", "operator").stdout.strip()
    url = catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    body = {"name": "Served", "url": url, "backend": "dcat"}
    assert httpx.post(served + "/sources/", json=body).status_code == 401
    created = httpx.post(served + "/sources/", json=body, headers={"X-API-KEY": key})
    assert created.status_code == 201, created.text
    assert cli.json("source", "show", "served")["id"] == created.json()["id"]
