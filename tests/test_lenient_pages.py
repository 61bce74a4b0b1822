"""Pages that parse only leniently, through the whole pipeline: reported on the job and on each of their items, and
never making a dataset poorer than its last harvest (harvesters/shape.py)."""

from __future__ import annotations

from typing import Any

from harvesters.shape import losses, shape_of
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli
from tests.servers.hostile import HostileServer, dataset_id


def items_by_id(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["remote_id"]: item for item in job["items"]}


def log_messages(item: dict[str, Any], level: str = "warning") -> list[str]:
    return [log["message"] for log in item["logs"] if log["level"] == level]


def formats(store: Store, remote_id: str) -> list[str | None]:
    [dataset] = [found for found in LocalCatalog(store).list_datasets() if found["harvest"]["remote_id"] == remote_id]
    return [resource["format"] for resource in dataset["resources"]]


def test_a_lenient_page_is_a_job_warning_and_each_of_its_items_keeps_it(cli: Cli,
                                                                       hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/lenient/catalog.ttl?broken=1"
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"  # a warning is no error
    [entry] = job["errors"]
    assert entry["level"] == "warning"
    assert entry["message"].startswith(f"The page {url} is not valid Turtle (")
    for item in job["items"]:  # first harvest: nothing to compare with, both created, each with the warning
        assert item["status"] == "done"
        [warning] = log_messages(item)
        assert warning.startswith(f"Read from the page {url}, which is not valid Turtle (")


def test_a_lenient_page_never_makes_a_dataset_poorer_than_its_last_harvest(
    cli: Cli, store: Store, hostile_server: HostileServer
) -> None:
    valid, broken = (f"{hostile_server.url}/lenient/catalog.ttl?broken={flag}" for flag in (0, 1))
    source = register_source(store, name="lenient", url=valid, backend="dcat")
    assert cli.json("run", source.id)["status"] == "done"
    assert formats(store, dataset_id(1)) == ["csv", None]

    cli("source", "update", source.id, "--url", broken)
    job = cli.json("run", source.id)
    assert job["status"] == "done"
    assert [error["level"] for error in job["errors"]] == ["warning"]
    items = items_by_id(job)
    intact, spliced = items[dataset_id(0)], items[dataset_id(1)]
    assert intact["status"] == "done"  # the same as last time: nothing lost, written as usual
    assert log_messages(intact)[0].startswith(f"Read from the page {broken}, which is not valid Turtle")
    assert spliced["status"] == "skipped"  # it would lose its first resource's format: not written
    read, held = log_messages(spliced)
    assert read.startswith(f"Read from the page {broken}, which is not valid Turtle")
    assert held == ("Dataset not updated: read with the warning above, it holds less than its last harvest "
                    "(resources.format: 1 -> 0); it keeps its last version until its record reads cleanly")
    assert spliced["dataset"]["id"] == store.get_link(source.id, dataset_id(1)).dataset_id
    assert formats(store, dataset_id(1)) == ["csv", None]  # as the valid page gave it

    cli("source", "update", source.id, "--url", valid)  # the page reads cleanly again: harvested as usual
    job = cli.json("run", source.id)
    assert job["errors"] == [] and [item["status"] for item in job["items"]] == ["done", "done"]
    assert all(log_messages(item) == [] for item in job["items"])


def test_losses_name_what_a_mapping_lacks_compared_to_the_last_write() -> None:
    last = shape_of({"title": "T", "license": "lov2", "tags": [], "resources": [
        {"id": "r1", "title": "a", "url": "https://x/a", "format": "csv"}, {"title": "b", "url": "https://x/b"}]})
    assert last == {"resources": 2, "fields": {"title": 1, "license": 1, "resources.title": 2, "resources.url": 2,
                                               "resources.format": 1}}
    poorer = shape_of({"title": "T", "resources": [{"title": "a", "url": "https://x/a"}]})
    assert losses(last, poorer) == ["resources: 2 -> 1", "license: 1 -> 0", "resources.format: 1 -> 0",
                                    "resources.title: 2 -> 1", "resources.url: 2 -> 1"]
    richer = shape_of({"title": "T", "license": "lov2", "frequency": "daily", "resources": [
        {"title": "a", "url": "https://x/a", "format": "csv"}, {"title": "b", "url": "https://x/b", "format": "json"}]})
    assert losses(last, richer) == []
    assert losses(None, poorer) == []  # a link written before shapes were kept: nothing to compare with
