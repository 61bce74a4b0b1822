"""The udata target against the REAL udata (tests/servers/udata_portal.py): what lands on the portal is
read back with GET; writes are counted by our client (every POST/PUT it sent, with the answer's status)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from harvesters.models import HarvestJob, HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets.udata import UdataPortal
from tests.helpers import Cli, datasets_page
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.udata_portal import UdataPortal as UdataServer
from tests.shared import fixture_path

TIMEOUT = 30
DCAT = "application/rdf+xml"
RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


@pytest.fixture
def portal(udata: UdataServer, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[UdataServer]:
    """The real udata as our target, with fast pacing and backoff so the tests stay quick, and a fresh
    organization to write to (the datasets and contact points of earlier tests are not its)."""
    udata.org_id = udata.new_organization()
    for name, value in {
        "HARVEST_UDATA_URL": udata.url, "HARVEST_UDATA_API_KEY": udata.api_key,
        "HARVEST_UDATA_WRITES_PER_SECOND": "100", "HARVEST_UDATA_BACKOFF": "0.05", "HARVEST_UDATA_MAX_RETRIES": "2",
        "HARVEST_AUTOARCHIVE_GRACE_DAYS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    yield udata
    udata.clear_faults()


@pytest.fixture
def one_write_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes in sequence, for tests that follow the portal's answers one by one."""
    monkeypatch.setenv("HARVEST_UDATA_CONCURRENT_WRITES", "1")


def catalog(*without: str) -> bytes:
    """The reference's dcat/catalog.xml, minus the datasets with these identifiers."""
    tree = etree.parse(str(fixture_path("dcat/catalog.xml")))
    for entry in tree.iterfind(".//{http://www.w3.org/ns/dcat#}dataset"):
        if entry[0].get(RDF_ABOUT, "").rsplit("/", 1)[-1] in without:
            entry.getparent().remove(entry)
    return etree.tostring(tree)


def add_source(store: Store, udata: UdataServer, url: str, backend: str = "dcat") -> HarvestSource:
    return register_source(store, name=url, url=url, backend=backend, organization=udata.org_id)


def run(store: Store, source: HarvestSource, progress: Callable[[str], None] | None = None
        ) -> tuple[HarvestJob, Counter[str]]:
    """One inline job, and the write requests it sent ("POST datasets 201": 4, ...)."""
    harvester = Harvester(store, progress=progress)
    assert isinstance(harvester.target, UdataPortal)
    return harvester.run(store.get_source(source.id)), harvester.target.client.writes


def on_portal(udata: UdataServer, catalog_url: str) -> dict[str, list[dict[str, Any]]]:
    """The organization's datasets harvested from this catalog URL, by remote id, read back in full."""
    session = requests.Session()
    session.headers["X-API-KEY"] = udata.api_key
    found: dict[str, list[dict[str, Any]]] = {}
    page: int | None = 1
    while page:
        listing = session.get(f"{udata.url}/api/1/organizations/{udata.org_id}/datasets/",
                              params={"page": page, "page_size": 100}, timeout=TIMEOUT).json()
        for dataset in listing["data"]:
            if dataset["extras"].get("harvest:source_url") == catalog_url and not dataset["deleted"]:
                full = session.get(f"{udata.url}/api/1/datasets/{dataset['id']}/", timeout=TIMEOUT).json()
                found.setdefault(full["extras"]["harvest:remote_id"], []).append(full)
        page = page + 1 if listing["next_page"] else None
    return found


def single(found: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each remote id's one dataset (failing on a duplicate)."""
    assert all(len(datasets) == 1 for datasets in found.values()), {k: len(v) for k, v in found.items()}
    return {remote_id: datasets[0] for remote_id, datasets in found.items()}


def statuses(job: HarvestJob) -> dict[str, str]:
    return {item.remote_id: item.status for item in job.items}


def outcomes(job: HarvestJob) -> Counter[str]:
    return Counter(log.message for item in job.items for log in item.logs if log.message.startswith("Dataset "))


# --- the whole life of a catalog on the portal ----------------------------------------------------------


def test_dcat_catalog_created_then_unchanged_then_archived_then_unarchived(
    portal: UdataServer, store: Store, catalog_server: CatalogServer
) -> None:
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    source = add_source(store, portal, url)

    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter({"POST datasets 201": 4, "POST contacts 201": 2})
    datasets = single(on_portal(portal, url))
    assert sorted(datasets) == ["1", "2", "3", "4"]
    first = datasets["1"]
    assert first["title"] == "Dataset 1" and first["organization"]["id"] == portal.org_id
    assert first["tags"] == ["tag-1", "tag-2", "tag-3", "tag-4", "theme-1", "theme-2"]
    assert sorted((r["title"], r["extras"]["harvest:uri"]) for r in first["resources"]) == [
        (f"Resource 1-{n}", f"{catalog_server.url}/datasets/1/resources/{n}") for n in (1, 2, 3, 4)]
    assert all(r["url"].startswith(f"{catalog_server.url}/datasets/1/resources/") for r in first["resources"])
    assert {key: first["extras"][key] for key in (
        "harvest:source_id", "harvest:remote_id", "harvest:domain", "harvest:backend", "harvest:remote_url",
    )} == {"harvest:source_id": source.id, "harvest:remote_id": "1", "harvest:domain": "127.0.0.1",
           "harvest:backend": "dcat", "harvest:remote_url": f"{catalog_server.url}/datasets/1"}
    assert first["extras"]["harvest:last_update"].startswith(str(job.started.date()))
    assert datasets["3"]["frequency"] == "daily"
    assert all(dataset["archived"] is None for dataset in datasets.values())

    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter()
    assert outcomes(job) == {"Dataset unchanged": 4}
    assert {k: d["last_modified"] for k, d in single(on_portal(portal, url)).items()} == {
        k: d["last_modified"] for k, d in datasets.items()}

    catalog_server.serve("/catalog.xml", catalog("4"), DCAT)
    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter({"PUT datasets 200": 1})
    assert statuses(job)["4"] == "archived"
    archived = single(on_portal(portal, url))
    assert archived["4"]["archived"] is not None
    assert [d["archived"] for k, d in sorted(archived.items()) if k != "4"] == [None, None, None]
    kept = ("title", "tags", "license", "frequency", "temporal_coverage", "extras", "resources", "organization")
    assert {key: archived["4"][key] for key in kept} == {key: datasets["4"][key] for key in kept}

    catalog_server.serve("/catalog.xml", catalog(), DCAT)
    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter({"PUT datasets 200": 1})
    back = single(on_portal(portal, url))["4"]
    assert back["id"] == datasets["4"]["id"] and back["archived"] is None
    assert [r["id"] for r in back["resources"]] == [r["id"] for r in datasets["4"]["resources"]]
    assert any(log.message == "Dataset is back on the remote: unarchived" for item in job.items for log in item.logs)


def test_licenses_are_the_portals_own(portal: UdataServer, store: Store, catalog_server: CatalogServer) -> None:
    """evian.json names the Etalab license by URL inside free text: it is matched against the portal's list."""
    url = catalog_server.serve_fixture("/evian.json", "dcat/evian.json", "application/json")
    job, writes = run(store, add_source(store, portal, url))
    assert job.status == "done", [(i.remote_id, [e.message for e in i.errors]) for i in job.items if i.errors]
    assert writes["POST datasets 201"] == len(job.items) == 8
    named = {entry["identifier"]: "etalab.gouv.fr/licence-ouverte-open-licence" in entry["license"]
             for entry in json.loads(fixture_path("dcat/evian.json").read_text())["dataset"]}
    licenses = {remote_id: dataset["license"] for remote_id, dataset in single(on_portal(portal, url)).items()}
    assert licenses == {remote_id: "lov2" if url_named else "notspecified" for remote_id, url_named in named.items()}
    assert set(licenses.values()) == {"lov2", "notspecified"}


def bnodes(with_service: bool = True) -> bytes:
    """The reference's dcat/bnodes.xml: three datasets and a data service serving two of them (or without it)."""
    tree = etree.parse(str(fixture_path("dcat/bnodes.xml")))
    if not with_service:
        for service in tree.iterfind(".//{http://www.w3.org/ns/dcat#}service"):
            service.getparent().remove(service)
    return etree.tostring(tree)


def test_data_service_created_with_its_datasets_then_unchanged_archived_and_back(
    portal: UdataServer, store: Store, catalog_server: CatalogServer
) -> None:
    api = "https://data.paris2024.org/api/explore/v2.1/"
    url = catalog_server.serve("/bnodes.xml", bnodes(), DCAT)
    source = add_source(store, portal, url)
    job, writes = run(store, source)
    assert job.status == "done"
    assert writes == Counter({"POST datasets 201": 3, "POST dataservices 201": 1, "POST contacts 201": 2})
    (item,) = [item for item in job.items if item.dataservice is not None]
    assert (item.remote_id, item.dataset, item.dataservice.title) == (api, None, "Explore API v2")

    session = requests.Session()
    session.headers["X-API-KEY"] = portal.api_key
    service_url = f"{portal.url}/api/1/dataservices/{item.dataservice.id}/"
    service = session.get(service_url, timeout=TIMEOUT).json()
    assert (service["title"], service["base_api_url"], service["machine_documentation_url"]) == (
        "Explore API v2", api, f"{api}swagger.json")
    assert service["organization"]["id"] == portal.org_id and service["archived_at"] is None
    assert {key: service["extras"][key] for key in ("harvest:source_id", "harvest:remote_id", "harvest:remote_url")
            } == {"harvest:source_id": source.id, "harvest:remote_id": api, "harvest:remote_url": f"{api}console"}
    served = session.get(f"{portal.url}/api/1/datasets/", params={"dataservice": service["id"]},
                         timeout=TIMEOUT).json()["data"]
    datasets = single(on_portal(portal, url))
    assert sorted(dataset["id"] for dataset in served) == sorted(datasets[remote]["id"] for remote in ("2", "3"))

    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter()
    assert [log.message for log in next(i for i in job.items if i.remote_id == api).logs] == ["Data service unchanged"]

    catalog_server.serve("/bnodes.xml", bnodes(with_service=False), DCAT)
    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter({"PATCH dataservices 200": 1})
    assert statuses(job)[api] == "archived"
    assert session.get(service_url, timeout=TIMEOUT).json()["archived_at"] is not None

    catalog_server.serve("/bnodes.xml", bnodes(), DCAT)
    job, writes = run(store, source)
    assert job.status == "done" and writes == Counter({"PATCH dataservices 200": 1})
    back = session.get(service_url, timeout=TIMEOUT).json()
    assert back["archived_at"] is None and back["datasets"]["total"] == 2


def test_lost_database_then_attach_adopts_instead_of_duplicating(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, cli: Cli, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    run(store, add_source(store, portal, url))
    catalog_server.serve("/catalog.xml", catalog("2"), DCAT)
    run(store, store.get_source(url))  # dataset 2 vanished: archived on the portal
    before = single(on_portal(portal, url))

    monkeypatch.setenv("HARVEST_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")  # the database is lost
    fresh = Store(f"sqlite:///{tmp_path / 'new.db'}")
    source = add_source(fresh, portal, url)
    attached = cli.json("attach", source.id)
    assert sorted((entry["remote_id"], entry["dataset_id"]) for entry in attached["adopted"]) == sorted(
        (remote_id, dataset["id"]) for remote_id, dataset in before.items())
    assert attached["duplicates"] == [] and attached["already_linked"] == []
    assert fresh.get_link(source.id, "2").archived_at is not None

    catalog_server.serve("/catalog.xml", catalog(), DCAT)
    job, writes = run(fresh, source)
    assert job.status == "done" and writes == Counter({"PUT datasets 200": 4})
    assert Counter(item.status for item in job.items) == {"done": 4}
    after = single(on_portal(portal, url))
    assert {k: d["id"] for k, d in after.items()} == {k: d["id"] for k, d in before.items()}
    assert {k: [r["id"] for r in d["resources"]] for k, d in after.items()} == {
        k: [r["id"] for r in d["resources"]] for k, d in before.items()}
    assert after["2"]["archived"] is None
    assert {d["extras"]["harvest:source_id"] for d in after.values()} == {source.id}
    assert cli.json("attach", source.id)["already_linked"] != []


# --- politeness and failures ------------------------------------------------------------------------------


def switch_faults_after_first_write(udata: UdataServer, status: int, count: int) -> Callable[[str], None]:
    """A progress callback: once the first dataset is written, the portal starts answering `status`."""
    def progress(outcome: str) -> None:
        if outcome == "created" and not armed:
            armed.append(True)
            udata.set_faults(status, count)
    armed: list[bool] = []
    return progress


def test_short_429_then_503_spell_is_absorbed_by_backoff_in_the_same_run(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, one_write_at_a_time: None
) -> None:
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    portal.set_faults(429, count=2, retry_after=1)  # on the first write: dataset 1's publisher, a contact point
    job, writes = run(store, add_source(store, portal, url), switch_faults_after_first_write(portal, 503, 2))
    assert job.status == "done"
    assert writes == Counter({"POST contacts 429": 2, "POST contacts 201": 2, "POST datasets 201": 4,
                              "POST contacts 503": 2})  # the second dataset written names a new contact point
    assert sorted(single(on_portal(portal, url))) == ["1", "2", "3", "4"]


def test_long_outage_pauses_the_job_and_the_next_run_completes_it(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, one_write_at_a_time: None
) -> None:
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    source = add_source(store, portal, url)
    portal.set_faults(429, count=1, retry_after=1)
    job, writes = run(store, source, switch_faults_after_first_write(portal, 503, 1000))
    assert job.status == "failed" and job.ended is not None
    assert [error.message.split(":")[0] for error in job.errors] == ["Paused"]
    assert "HTTP 503" in job.errors[0].message and "3 item(s) not written stay pending" in job.errors[0].message
    assert Counter(statuses(job).values()) == {"done": 1, "pending": 3}
    assert writes == Counter({"POST contacts 429": 1, "POST contacts 201": 1, "POST datasets 201": 1,
                              "POST contacts 503": 3})  # the breaker is open: no more calls
    assert len(on_portal(portal, url)) == 1

    portal.clear_faults()
    follow_up, more_writes = run(store, source)
    assert follow_up.status == "done" and outcomes(follow_up) == {"Dataset created": 3, "Dataset unchanged": 1}
    assert more_writes == Counter({"POST datasets 201": 3, "POST contacts 201": 1})  # the publisher is found
    assert sorted(single(on_portal(portal, url))) == ["1", "2", "3", "4"]


def test_a_paused_job_reads_no_more_of_the_catalog(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "1")
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    portal.set_faults(503, count=1000)
    job, writes = run(store, add_source(store, portal, url))
    assert job.status == "failed" and job.errors[0].message.startswith("Paused: ")
    assert [item.status for item in job.items] == ["pending"] and writes == Counter({"POST contacts 503": 3})


def test_a_lost_answer_to_a_create_does_not_duplicate_the_dataset(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway (a real HTTP hop) passes the first POST to udata, which creates the dataset, then answers
    504: before sending it again, we look for it on the portal."""
    url = catalog_server.serve("/catalog.xml", catalog("2", "3", "4"), DCAT)
    lost: list[int] = []

    def gateway(request: Request) -> Reply:
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() in ("x-api-key", "x-fields", "content-type")}
        answer = requests.request(request.method, portal.url + request.target, data=request.body or None,
                                  headers=headers, timeout=TIMEOUT)
        if request.method == "POST" and request.path == "/api/1/datasets/" and not lost:
            lost.append(answer.status_code)
            return Reply("Gateway Timeout", "text/plain", status=504)
        return Reply(answer.content, answer.headers.get("Content-Type", ""), status=answer.status_code)

    for path in ("/api/1/datasets/", "/api/1/datasets/licenses/", "/api/1/datasets/frequencies/", "/api/1/contacts/",
                 f"/api/1/organizations/{portal.org_id}/datasets/", f"/api/1/organizations/{portal.org_id}/contacts/"):
        catalog_server.handle(path, gateway)
    monkeypatch.setenv("HARVEST_UDATA_URL", catalog_server.url)
    job, writes = run(store, add_source(store, portal, url))
    assert lost == [201] and writes == Counter({"POST contacts 201": 2, "POST datasets 504": 1})
    assert job.status == "done" and outcomes(job) == {"Dataset created": 1}
    (dataset,) = on_portal(portal, url)["1"]
    assert job.items[0].dataset is not None and job.items[0].dataset.id == dataset["id"]


def test_a_refused_dataset_fails_with_the_portals_message(
    portal: UdataServer, store: Store, catalog_server: CatalogServer
) -> None:
    url = catalog_server.serve("/list.json", datasets_page(
        {"id": "ok", "title": "A fine dataset", "description": "Described."},
        {"id": "bad", "title": "A dataset with a short tag", "tags": ["ab"]},
        {"id": "ok-2", "title": "Another fine dataset", "description": "Described too."},
    ), "application/json")
    job, writes = run(store, add_source(store, portal, url, backend="jsonlist"))
    assert job.status == "done-errors" and statuses(job) == {"ok": "done", "bad": "failed", "ok-2": "done"}
    (error,) = next(item for item in job.items if item.remote_id == "bad").errors
    assert "HTTP 400" in error.message and 'tags: Tag "ab" must be between 3 and 96 characters' in error.message
    assert writes == Counter({"POST datasets 201": 2, "POST datasets 400": 1})


def test_a_preview_tells_an_update_against_what_was_last_written_to_the_portal(
    portal: UdataServer, store: Store, catalog_server: CatalogServer
) -> None:
    """The portal's datasets are not in the store: what was written to it is kept there, for previews to compare."""
    url = catalog_server.serve("/list.json", datasets_page({"id": "ds-1", "title": "First", "tags": ["env"]}),
                               "application/json")
    source = add_source(store, portal, url, backend="jsonlist")
    run(store, source)
    catalog_server.serve("/list.json", datasets_page({"id": "ds-1", "title": "Renamed", "tags": ["env", "new"]}),
                         "application/json")
    job = Harvester(store).run(store.get_source(source.id), preview=True)
    assert [log.message for log in job.items[0].logs] == [
        "Would change tags: +new", "Would change title: 'First' → 'Renamed'", "Dataset updated (preview)"]
    with store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM payloads")
    job = Harvester(store).run(store.get_source(source.id), preview=True)
    assert job.items[0].logs[0].message.startswith("Would change what was last written, which is not known")


# --- commands ---------------------------------------------------------------------------------------------


def test_portal_check_says_who_we_write_as(portal: UdataServer, cli: Cli) -> None:
    found = cli.json("portal", "check")
    assert found["user"]["id"] == portal.user_id and found["url"] == portal.url
    assert {"id": portal.org_id, "name": "Test Organization"} in found["organizations"]
    assert found["licenses"] >= 4


def test_a_wrong_key_is_reported_never_shown(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, cli: Cli, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "udata-not-the-right-key-0123456789"
    monkeypatch.setenv("HARVEST_UDATA_API_KEY", wrong)
    result = cli("portal", "check", expect=2)
    assert "HARVEST_UDATA_API_KEY" in result.output and wrong not in result.output
    caplog.set_level(logging.DEBUG)
    url = catalog_server.serve("/catalog.xml", catalog(), DCAT)
    job = cli.json("run", url, "--backend", "dcat", expect=1)  # the portal's license list is refused at once
    assert job["status"] == "failed" and job["items"] == []
    assert "HTTP 401" in job["errors"][0]["message"] and "HARVEST_UDATA_API_KEY" in job["errors"][0]["message"]
    assert wrong not in json.dumps(job) and wrong not in caplog.text

    monkeypatch.setenv("HARVEST_UDATA_API_KEY", portal.api_key)
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done" and portal.api_key not in json.dumps(job) + caplog.text


def test_deleting_a_source_never_deletes_its_datasets_and_archives_them_on_request(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, cli: Cli
) -> None:
    kept_url = catalog_server.serve("/kept.xml", catalog(), DCAT)
    # the same datasets from another domain (on one domain, a remote id has one owner)
    archived_url = catalog_server.serve("/archived.xml", catalog(), DCAT).replace("127.0.0.1", "localhost")
    for url in (kept_url, archived_url):
        run(store, add_source(store, portal, url))

    cli("source", "delete", kept_url)
    cli("source", "delete", archived_url, "--archive-datasets")
    kept, archived = single(on_portal(portal, kept_url)), single(on_portal(portal, archived_url))
    assert len(kept) == len(archived) == 4
    assert {dataset["archived"] for dataset in kept.values()} == {None}
    assert None not in {dataset["archived"] for dataset in archived.values()}
    assert archived["1"]["tags"] == kept["1"]["tags"] and len(archived["1"]["resources"]) == 4


# --- contact points ----------------------------------------------------------------------------------------

CONTACTS_CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .

<{base}/catalog> a dcat:Catalog ;
    dcat:dataset <{base}/datasets/schools>, <{base}/datasets/parks> ;
    dcat:service <{base}/api> .
<{base}/datasets/schools> a dcat:Dataset ;
    dct:identifier "schools" ; dct:title "Rated schools" ; dct:description "Schools and their ratings." ;
    dct:publisher [ a foaf:Organization ; foaf:name "GreatSchools.org" ] ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "Open data team" ;
                        vcard:hasEmail <mailto:opendata@example.org> ] .
<{base}/datasets/parks> a dcat:Dataset ;
    dct:identifier "parks" ; dct:title "City parks" ; dct:description "The parks of the city." ;
    dct:publisher [ a foaf:Organization ; foaf:name "City of Example" ] ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "Open data team" ;
                        vcard:hasEmail <mailto:opendata@example.org> ] .
<{base}/api> a dcat:DataService ;
    dct:identifier "api" ; dct:title "Parks API" ; dcat:endpointURL <https://api.example.org/parks/> ;
    dcat:servesDataset <{base}/datasets/parks> ;
    dcat:contactPoint [ a vcard:Kind ; vcard:fn "API support" ; vcard:hasEmail <mailto:api@example.org> ] .
"""


def portal_contacts(udata: UdataServer, document: dict[str, Any]) -> list[tuple[str | None, str | None, str]]:
    """(name, email, role) of a dataset's or data service's contact points, each read back by its id."""
    found = []
    for contact in document["contact_points"]:
        full = requests.get(f"{udata.url}/api/1/contacts/{contact['id']}/", timeout=TIMEOUT).json()
        assert (full.get("organization") or {}).get("id") == udata.org_id  # the publisher's, as udata requires
        found.append((full["name"], full["email"], full["role"]))
    return sorted(found)


def test_contact_points_are_the_portals_own_objects_reused_or_created(
    portal: UdataServer, store: Store, catalog_server: CatalogServer
) -> None:
    """As udata's own harvester does: the publisher's contact point with the same name, email and role is
    reused (the one already on the portal, or the one another dataset of the job created), else created; one
    the portal refuses is left out of its dataset with a warning, the dataset written all the same."""
    existing = requests.post(f"{portal.url}/api/1/contacts/", headers={"X-API-KEY": portal.api_key}, json={
        "name": "City of Example", "role": "publisher", "organization": portal.org_id}, timeout=TIMEOUT).json()
    url = catalog_server.serve("/contacts.ttl", CONTACTS_CATALOG.format(base=catalog_server.url), "text/turtle")
    source = add_source(store, portal, url)
    job, writes = run(store, source)

    assert job.status == "done", [(item.remote_id, item.errors) for item in job.items]
    assert writes == Counter({"POST datasets 201": 2, "POST dataservices 201": 1, "POST contacts 201": 2,
                              "POST contacts 400": 1})  # the team once for both datasets; the city found
    datasets = single(on_portal(portal, url))
    assert portal_contacts(portal, datasets["parks"]) == [
        ("City of Example", None, "publisher"), ("Open data team", "opendata@example.org", "contact")]
    assert existing["id"] in {contact["id"] for contact in datasets["parks"]["contact_points"]}
    assert portal_contacts(portal, datasets["schools"]) == [("Open data team", "opendata@example.org", "contact")]
    assert datasets["schools"]["contact_points"][0]["id"] in {c["id"] for c in datasets["parks"]["contact_points"]}
    (service,) = [item for item in job.items if item.dataservice is not None]
    assert service.dataservice is not None
    document = requests.get(f"{portal.url}/api/1/dataservices/{service.dataservice.id}/", timeout=TIMEOUT).json()
    assert portal_contacts(portal, document) == [("API support", "api@example.org", "contact")]

    refused = "Contact point 'GreatSchools.org' (publisher) left out: the portal refused it (name: URLs not allowed"
    schools = next(item for item in job.items if item.remote_id == "schools")
    assert [log.level for log in schools.logs if log.message.startswith(refused)] == ["warning"]
    assert schools.status == "done" and not schools.errors

    again, writes = run(store, source)  # unchanged: nothing written, the warning still said
    assert again.status == "done" and writes == Counter()
    schools = next(item for item in again.items if item.remote_id == "schools")
    assert any(log.message.startswith(refused) for log in schools.logs)


# --- the pace and the pool -----------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrent", [1, 4])
def test_a_slow_portal_gets_several_writes_at_once_within_the_budget(
    portal: UdataServer, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch,
    concurrent: int,
) -> None:
    """Each write is held 0.5 s in front of udata; the budget allows one every 0.2 s: a pool of 4 keeps that
    pace with two or three writes in flight, never more than the pool; one at a time, they follow each other."""
    budget = 5.0
    monkeypatch.setenv("HARVEST_UDATA_WRITES_PER_SECOND", str(budget))
    monkeypatch.setenv("HARVEST_UDATA_CONCURRENT_WRITES", str(concurrent))
    url = catalog_server.serve("/slow.json", datasets_page(*(
        {"id": f"d{n}", "title": f"Dataset number {n}", "description": "Described."} for n in range(12))),
        "application/json")
    source = add_source(store, portal, url, backend="jsonlist")
    portal.set_delay(0.5)
    portal.write_stats(reset=True)
    job, writes = run(store, source)
    stats = portal.write_stats()
    assert job.status == "done" and writes == Counter({"POST datasets 201": 12}) and stats.writes == 12
    assert stats.per_second <= budget * 1.25  # the writes came no faster than the budget (jitter aside)
    if concurrent == 1:
        assert stats.max_in_flight == 1
    else:
        assert 2 <= stats.max_in_flight <= concurrent
