"""The REAL udata API (udata 17.18 on mongomock, see tests/servers/udata_portal.py), with plain requests.

What udata requires to create a dataset (POST /api/1/datasets/, header ``X-API-KEY``):
``title`` and ``description`` (both required, 400 otherwise); ``organization`` is optional (the
dataset is then owned by the user); ``license`` defaults to ``notspecified`` and an unknown id
silently becomes ``notspecified``; each tag must be 3..96 chars and is slugified; resources need
``title``, ``url``, ``type`` and ``filetype`` ("remote" for links). These tests also pin the facts
the udata write target relies on (archiving, ``harvest:`` extras, resource ids on PUT).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.tiers import starts

try:
    from tests.servers.udata_portal import UdataPortal
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from servers.udata_portal import UdataPortal

TIMEOUT = 30


@pytest.fixture(scope="module")
@starts("servers", "udata")
def portal() -> Iterator[UdataPortal]:
    with UdataPortal() as p:
        yield p


@pytest.fixture(scope="module")
def http(portal: UdataPortal) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers["X-API-KEY"] = portal.api_key
        yield s


def api(portal: UdataPortal, path: str) -> str:
    return f"{portal.url}/api/1/{path.lstrip('/')}"


def dataset_payload(portal: UdataPortal, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Stations de mesure",
        "description": "Liste des stations de mesure de la qualité de l'air.",
        "organization": portal.org_id,
        "tags": ["air-quality", "Stations Météo"],
        "license": "lov2",
        "extras": {"harvest:remote_id": "x", "harvest:domain": "example.org"},
        "resources": [{"title": "Stations (CSV)", "url": "https://example.org/stations.csv",
                       "type": "main", "filetype": "remote", "format": "csv"}],
    }
    return body | overrides


@pytest.fixture(scope="module")
def created(portal: UdataPortal, http: requests.Session) -> dict[str, Any]:
    r = http.post(api(portal, "datasets/"), json=dataset_payload(portal), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()


def test_me_returns_seeded_user(portal: UdataPortal, http: requests.Session) -> None:
    r = http.get(api(portal, "me/"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["id"] == portal.user_id
    assert portal.org_id in [o["id"] for o in me["organizations"]]
    assert requests.get(api(portal, "me/"), timeout=TIMEOUT).status_code == 401
    bad = requests.get(api(portal, "me/"), headers={"X-API-KEY": "udata_nope"}, timeout=TIMEOUT)
    assert bad.status_code in (401, 403)


def test_licenses_and_frequencies(portal: UdataPortal) -> None:
    r = requests.get(api(portal, "datasets/licenses/"), timeout=TIMEOUT)
    licenses = {lic["id"]: lic for lic in r.json()}
    assert {"lov2", "odc-odbl", "cc-by", "notspecified"} <= set(licenses)
    assert licenses["lov2"]["title"] == "Licence Ouverte / Open Licence version 2.0"
    assert licenses["lov2"]["url"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
    assert licenses["odc-odbl"]["url"] == "http://opendatacommons.org/licenses/odbl/summary/"
    freqs = requests.get(api(portal, "datasets/frequencies/"), timeout=TIMEOUT).json()
    assert {"unknown", "daily", "monthly"} <= {f["id"] for f in freqs}


def test_create_and_get_dataset(portal: UdataPortal, http: requests.Session, created: dict[str, Any]) -> None:
    r = requests.get(api(portal, f"datasets/{created['id']}/"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    ds = r.json()
    assert ds["organization"]["id"] == portal.org_id
    assert ds["license"] == "lov2"
    assert ds["tags"] == ["air-quality", "stations-meteo"]  # slugified
    assert ds["extras"] == {"harvest:remote_id": "x", "harvest:domain": "example.org"}
    assert ds["harvest"] is None  # the `harvest` object is udata's own harvester metadata
    (res,) = ds["resources"]
    assert (res["title"], res["url"], res["type"], res["filetype"], res["format"]) == (
        "Stations (CSV)", "https://example.org/stations.csv", "main", "remote", "csv")
    uuid.UUID(res["id"])  # server-generated UUID
    assert ds["archived"] is None


def test_create_validation(portal: UdataPortal, http: requests.Session) -> None:
    r = http.post(api(portal, "datasets/"), json={"title": "No description"}, timeout=TIMEOUT)
    assert r.status_code == 400 and "description" in r.json()["errors"]
    r = http.post(api(portal, "datasets/"), json=dataset_payload(portal, tags=["ab"]), timeout=TIMEOUT)
    assert r.status_code == 400 and "tags" in r.json()["errors"]
    r = http.post(api(portal, "datasets/"), json=dataset_payload(portal, title="Bad license", license="nope"),
                  timeout=TIMEOUT)
    assert r.status_code == 201 and r.json()["license"] == "notspecified"  # not rejected!
    assert http.delete(api(portal, f"datasets/{r.json()['id']}/"), timeout=TIMEOUT).status_code == 204


def test_put_full_payload_keeps_resource_ids(portal: UdataPortal, http: requests.Session,
                                             created: dict[str, Any]) -> None:
    ds_id, rid = created["id"], created["resources"][0]["id"]
    body = dataset_payload(
        portal, title="Stations de mesure (v2)", tags=["air-quality", "stations"], license="odc-odbl",
        extras={"harvest:remote_id": "x", "harvest:last_update": "2024-01-01"},
        resources=[
            {"id": rid, "title": "Stations v2", "url": "https://example.org/v2.csv",
             "type": "main", "filetype": "remote", "format": "csv"},
            {"title": "Doc", "url": "https://example.org/doc.pdf", "type": "documentation",
             "filetype": "remote", "format": "pdf"},
            {"id": str(uuid.uuid4()), "title": "Foreign id", "url": "https://example.org/f.json",
             "type": "main", "filetype": "remote", "format": "json"},
        ],
    )
    r = http.put(api(portal, f"datasets/{ds_id}/"), json=body, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    ds = http.get(api(portal, f"datasets/{ds_id}/"), timeout=TIMEOUT).json()
    assert ds["title"] == "Stations de mesure (v2)" and ds["license"] == "odc-odbl"
    assert ds["tags"] == ["air-quality", "stations"]
    # extras are replaced, not merged: harvest:domain is gone
    assert ds["extras"] == {"harvest:remote_id": "x", "harvest:last_update": "2024-01-01"}
    res = ds["resources"]
    assert [x["title"] for x in res] == ["Stations v2", "Doc", "Foreign id"]
    assert res[0]["id"] == rid and res[0]["url"] == "https://example.org/v2.csv"  # id kept, updated
    assert res[1]["id"] != rid
    assert res[2]["id"] != body["resources"][2]["id"]  # unknown client id replaced by a new one
    # the resources list is replaced: dropping an entry deletes that resource
    body["resources"] = [{"id": rid, "title": "Stations v3"}]  # partial entry: unsent fields kept
    ds = http.put(api(portal, f"datasets/{ds_id}/"), json=body, timeout=TIMEOUT).json()
    assert [(x["id"], x["title"], x["url"]) for x in ds["resources"]] == [
        (rid, "Stations v3", "https://example.org/v2.csv")]
    bad = dict(body, resources=[{"id": "not-a-uuid", "title": "x", "url": "https://example.org/x",
                                 "type": "main", "filetype": "remote"}])
    assert http.put(api(portal, f"datasets/{ds_id}/"), json=bad, timeout=TIMEOUT).status_code == 400
    # omitting keys is not "keep": tags are cleared, resources (key absent) untouched
    ds = http.put(api(portal, f"datasets/{ds_id}/"), json={"title": body["title"],
                  "description": body["description"]}, timeout=TIMEOUT).json()
    assert ds["tags"] == [] and [x["id"] for x in ds["resources"]] == [rid]
    assert http.put(api(portal, f"datasets/{ds_id}/"), json=body, timeout=TIMEOUT).status_code == 200


def test_archive_via_put(portal: UdataPortal, http: requests.Session) -> None:
    r = http.post(api(portal, "datasets/"), json=dataset_payload(portal, title="To archive"), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    ds_id = r.json()["id"]
    body = dataset_payload(portal, title="To archive", archived="2024-05-01T12:00:00+00:00")
    ds = http.put(api(portal, f"datasets/{ds_id}/"), json=body, timeout=TIMEOUT).json()
    assert ds["archived"].startswith("2024-05-01T12:00:00")
    anon = requests.get(api(portal, f"datasets/{ds_id}/"), timeout=TIMEOUT)
    assert anon.status_code == 200 and anon.json()["archived"]  # still readable by id
    params = {"organization": portal.org_id, "page_size": 100}
    public = requests.get(api(portal, "datasets/"), params=params, timeout=TIMEOUT).json()  # anonymous
    assert ds_id not in [d["id"] for d in public["data"]]
    org_list = http.get(api(portal, f"organizations/{portal.org_id}/datasets/"), params={"page_size": 100},
                        timeout=TIMEOUT).json()
    assert ds_id in [d["id"] for d in org_list["data"]]
    ds = http.put(api(portal, f"datasets/{ds_id}/"), json=dict(body, archived=None), timeout=TIMEOUT).json()
    assert ds["archived"] is None


def test_org_datasets_lists_created(portal: UdataPortal, created: dict[str, Any]) -> None:
    for org in (portal.org_id, portal.org_slug):
        url = api(portal, f"organizations/{org}/datasets/")
        r = requests.get(url, params={"page_size": 100}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        page = r.json()
        assert created["id"] in [d["id"] for d in page["data"]]
        assert {"data", "page", "page_size", "total", "next_page"} <= set(page)


def test_fault_injection(portal: UdataPortal, http: requests.Session) -> None:
    portal.set_faults(429, count=1, retry_after=7)
    try:
        assert http.get(api(portal, "me/"), timeout=TIMEOUT).status_code == 200  # GET not matched
        body = dataset_payload(portal, title="Faulted")
        r = http.post(api(portal, "datasets/"), json=body, timeout=TIMEOUT)
        assert r.status_code == 429 and r.headers["Retry-After"] == "7"
        r = http.post(api(portal, "datasets/"), json=body, timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        url = api(portal, f"datasets/{r.json()['id']}/")
        portal.set_faults(503, count=5, methods=("PUT",))
        r = http.put(url, json=body, timeout=TIMEOUT)
        assert r.status_code == 503 and "Retry-After" not in r.headers
        portal.clear_faults()
        assert http.put(url, json=body, timeout=TIMEOUT).status_code == 200
    finally:
        portal.clear_faults()
