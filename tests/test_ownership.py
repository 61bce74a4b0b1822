"""Sources of one domain never make two datasets for one remote id (udata matches a dataset on its remote id
and domain): the second source's item fails naming the first, on the local catalog and on a real udata."""

from __future__ import annotations

import pytest
import requests

from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import datasets_page
from tests.servers.catalog import CatalogServer
from tests.servers.udata_portal import UdataPortal as UdataServer


def two_sources_of_one_domain(store: Store, server: CatalogServer, **values: object) -> tuple:
    """Two catalogs on 127.0.0.1 (one domain), sharing the remote id `shared`."""
    first_url = server.serve("/first.json", datasets_page({"id": "shared", "title": "Shared"},
                                                          {"id": "first-only", "title": "First"}), "application/json")
    second_url = server.serve("/second.json", datasets_page({"id": "shared", "title": "Shared again"},
                                                            {"id": "second-only", "title": "Second"}),
                              "application/json")
    first = register_source(store, name="First", url=first_url, backend="jsonlist", **values)
    second = register_source(store, name="Second", url=second_url, backend="jsonlist", **values)
    return first, second


def owner_message(first_id: str) -> str:
    return f"Item has another owner: source 'First' (first, {first_id}) already harvests remote id 'shared' from " \
           "127.0.0.1"


def test_the_second_source_of_a_domain_does_not_take_a_remote_id(store: Store, catalog_server: CatalogServer) -> None:
    first, second = two_sources_of_one_domain(store, catalog_server)
    assert Harvester(store).run(first).status == "done"
    job = Harvester(store).run(second)
    assert job.status == "done-errors"
    items = {item.remote_id: item for item in job.items}
    assert items["second-only"].status == "done"
    assert items["shared"].status == "failed"
    assert items["shared"].errors[0].message.startswith(owner_message(first.id))
    assert sorted(d["harvest"]["remote_id"] for d in LocalCatalog(store).list_datasets()) == [
        "first-only", "second-only", "shared"]
    preview = Harvester(store).run(second, preview=True)  # a preview tells it too
    assert {item.remote_id: item.status for item in preview.items}["shared"] == "failed"
    other_domain = register_source(store, name="Elsewhere", url=first.url.replace("127.0.0.1", "localhost"),
                                   backend="jsonlist")
    assert Harvester(store).run(other_domain).status == "done"  # another domain's remote ids are its own


def test_the_same_holds_on_a_udata_portal(udata: UdataServer, store: Store, catalog_server: CatalogServer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"HARVEST_UDATA_URL": udata.url, "HARVEST_UDATA_API_KEY": udata.api_key,
                        "HARVEST_UDATA_WRITES_PER_SECOND": "100"}.items():
        monkeypatch.setenv(name, value)
    first, second = two_sources_of_one_domain(store, catalog_server, organization=udata.org_id)
    assert Harvester(store).run(first).status == "done"
    job = Harvester(store).run(second)
    shared = next(item for item in job.items if item.remote_id == "shared")
    assert shared.status == "failed" and shared.errors[0].message.startswith(owner_message(first.id))
    listing = requests.get(f"{udata.url}/api/1/organizations/{udata.org_id}/datasets/",
                           params={"page_size": 100}, headers={"X-API-KEY": udata.api_key}, timeout=30).json()
    remote_ids = [dataset["extras"].get("harvest:remote_id") for dataset in listing["data"]
                  if dataset["extras"].get("harvest:domain") == "127.0.0.1"]
    assert remote_ids.count("shared") == 1 and sorted(remote_ids) == ["first-only", "second-only", "shared"]
