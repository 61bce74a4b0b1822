"""Hostile catalogs against the gather: short or empty pages archive nothing, endless pagers end in an error.

Every backend's paging loop is run against the hostile server (tests/servers/hostile.py), which announces a
number of datasets and serves fewer, through the real pipeline and CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harvesters.models import HarvestSource
from harvesters.sources import register_source
from harvesters.store import Store
from tests.helpers import Cli, job_errors
from tests.servers.hostile import HostileServer, dataset_id

#: Per backend: the URL of a catalog announcing `total` datasets and serving the first `served`, and its config.
CATALOGS: dict[str, tuple[Callable[[HostileServer, int, int], str], dict[str, Any]]] = {
    "dcat": (lambda server, total, served: f"{server.url}/hydra/catalog.ttl?total={total}&served={served}", {}),
    "ckan": (lambda server, total, served: f"{server.url}/ckan/total={total},served={served}",
             {"extra_configs": [{"key": "rows", "value": 100}]}),
    "ods": (lambda server, total, served: f"{server.url}/ods/total={total},served={served}", {}),
    "csw-iso-19139": (lambda server, total, served: f"{server.url}/csw?total={total}&served={served}", {}),
}
INCOMPLETE = {
    "dcat": "{url} announced 300 datasets (hydra:totalItems), but its pages held 240",
    "ckan": "package_search on {url} counts 300 datasets, but its pages gave 240",
    "ods": "{url}/api/explore/v2.1/catalog/datasets counts 300 datasets (total_count), but its pages gave 240",
    "csw-iso-19139": "{url} matched 300 records (numberOfRecordsMatched), but its pages returned 240",
}


@pytest.fixture(autouse=True)
def archive_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vanished datasets are archived on the next complete run (no grace period)."""
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")


def harvested_source(store: Store, cli: Cli, server: HostileServer, backend: str) -> HarvestSource:
    """A source whose first run harvested a catalog of 300 datasets."""
    url, config = CATALOGS[backend]
    source = register_source(store, name=backend, url=url(server, 300, 300), backend=backend, config=config)
    job = cli.json("run", source.id)
    assert job["status"] == "done" and sum(item["status"] == "done" for item in job["items"]) == 300
    return source


def archived(job: dict[str, Any]) -> list[str]:
    return [item["remote_id"] for item in job["items"] if item["status"] == "archived"]


@pytest.mark.parametrize("backend", sorted(CATALOGS))
def test_a_catalog_serving_fewer_datasets_than_it_announces_archives_none(
    cli: Cli, store: Store, hostile_server: HostileServer, backend: str
) -> None:
    source = harvested_source(store, cli, hostile_server, backend)
    url = CATALOGS[backend][0](hostile_server, 300, 240)  # 240 served of the 300 announced
    store.update_source(source.id, url=url)
    job = cli.json("run", source.id, expect=1)
    assert job["status"] == "failed"
    assert job_errors(job) == [
        "Incomplete gather: " + INCOMPLETE[backend].format(url=url) +
        "; nothing is archived after an incomplete gather"]
    assert archived(job) == []
    assert store.count_active_links(source.id) == 300
    assert sum(item["status"] == "done" for item in job["items"]) == 240  # what came is still harvested


@pytest.mark.parametrize("backend", sorted(CATALOGS))
def test_a_catalog_that_really_shrank_is_archived(
    cli: Cli, store: Store, hostile_server: HostileServer, backend: str
) -> None:
    """The control of the test above: the same 60 datasets gone, announced as gone, are archived."""
    source = harvested_source(store, cli, hostile_server, backend)
    store.update_source(source.id, url=CATALOGS[backend][0](hostile_server, 240, 240))
    job = cli.json("run", source.id)
    assert job["status"] == "done"
    assert sorted(archived(job)) == [dataset_id(i) for i in range(240, 300)]


def test_an_empty_page_announced_by_hydra_next_is_an_incomplete_gather(
    cli: Cli, store: Store, hostile_server: HostileServer
) -> None:
    source = harvested_source(store, cli, hostile_server, "dcat")
    url = f"{hostile_server.url}/hydra/catalog.ttl?total=300&served=200&empty=1"  # page 3: HTTP 200, no body
    store.update_source(source.id, url=url)
    job = cli.json("run", source.id, expect=1)
    assert job_errors(job) == [
        f"Incomplete gather: {url}&page=2 links to a next page, {url}&page=3 (hydra:next), but that page has an "
        "empty body; nothing is archived after an incomplete gather"]
    assert archived(job) == []
    assert store.count_active_links(source.id) == 300


def test_an_empty_first_page_fails_the_job(cli: Cli, catalog_server: Any) -> None:
    url = catalog_server.serve("/catalog.ttl", b"", "text/turtle")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"{url} answered with an empty body"]


def test_an_endless_pager_ends_the_gather_at_the_page_budget(
    cli: Cli, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_GATHER_MAX_PAGES", "25")
    url = f"{hostile_server.url}/endless"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [
        f"The gather stopped before {url}?page=26: it made 25 requests already, the most allowed "
        "(HARVEST_GATHER_MAX_PAGES); does the catalog page without end?"]
    assert len(hostile_server.requests_to("/endless")) == 25
    assert len(job["items"]) == 25


def test_a_gather_past_the_record_budget_fails(
    cli: Cli, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_GATHER_MAX_RECORDS", "150")
    job = cli.json("run", f"{hostile_server.url}/hydra/catalog.ttl?total=300", "--backend", "dcat", expect=1)
    assert job_errors(job) == [
        "The gather stopped after 150 records, the most allowed (HARVEST_GATHER_MAX_RECORDS)"]
    assert len(job["items"]) == 150
