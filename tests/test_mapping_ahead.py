"""Inline runs map their batches ahead in a helper process (harvesters/mapper.py): same outcomes, and a helper
that dies leaves its batches mapped in the harvest's own process."""

from __future__ import annotations

import multiprocessing
import os
import signal
from typing import Any

import pytest

from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.conftest import datasets_page
from tests.servers.catalog import CatalogServer

VOLATILE = {"id", "slug", "created_at", "last_modified", "last_update", "internal", "contact_points"}


def catalog(server: CatalogServer, count: int) -> str:
    """`count` datasets, the 4th failing its mapping and the 7th without a title (skipped)."""
    entries: list[dict[str, Any]] = []
    for n in range(count):
        entry: dict[str, Any] = {"id": f"ds-{n}", "title": f"Dataset {n}", "files": [f"http://files.test/{n}.csv"]}
        if n == 3:
            entry["error"] = "boom: bad record"
        if n == 6:
            entry["title"] = ""
        entries.append(entry)
    return server.serve("/catalog.json", datasets_page(*entries), "application/json")


def harvest(store: Store, url: str, on_progress: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the catalog into this store; the items (by remote id) and the datasets written, without their ids
    and stamps."""
    source = register_source(store, name="ahead", url=url, backend="jsonlist")
    job = Harvester(store, progress=on_progress).run(source)
    items = {item.remote_id: (item.status, [log.message for log in item.logs], [e.message for e in item.errors])
             for item in job.items}
    documents = [{key: value for key, value in document.items() if key not in VOLATILE}
                 for document in LocalCatalog(store).list(source.id)]
    for document in documents:
        document["harvest"] = {key: value for key, value in document["harvest"].items()
                               if key not in ("last_update", "source_id")}
        document["resources"] = [{key: value for key, value in resource.items() if key not in VOLATILE}
                                 for resource in document["resources"]]
    return {"status": job.status, "items": items}, documents


def helpers() -> list[multiprocessing.Process]:
    return [child for child in multiprocessing.active_children() if child.name == "harvest-mapping"]


def test_batches_mapped_ahead_give_what_mapping_here_gives(
    tmp_path: Any, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "3")
    url = catalog(catalog_server, 11)
    seen: list[int] = []
    ahead = harvest(Store(f"sqlite:///{tmp_path / 'ahead.db'}"), url, lambda outcome: seen.append(len(helpers())))
    assert max(seen) == 1  # a helper process mapped batches meanwhile
    assert helpers() == []  # and it is gone with the job
    monkeypatch.setenv("HARVEST_MAP_AHEAD", "0")
    here = harvest(Store(f"sqlite:///{tmp_path / 'here.db'}"), url, lambda outcome: seen.append(len(helpers())))
    assert seen[-1] == 0
    assert ahead == here
    assert ahead[0]["status"] == "done-errors" and len(ahead[1]) == 9
    assert ahead[0]["items"]["ds-3"] == ("failed", [], ["boom: bad record"])
    assert ahead[0]["items"]["ds-6"] == ("skipped", ["missing title"], [])


def test_a_job_of_one_batch_starts_no_helper(store: Store, catalog_server: CatalogServer) -> None:
    seen: list[int] = []
    status, documents = harvest(store, catalog(catalog_server, 8), lambda outcome: seen.append(len(helpers())))
    assert status["status"] == "done-errors" and len(documents) == 6
    assert seen and max(seen) == 0


def test_a_helper_that_dies_leaves_its_batches_mapped_here(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "2")
    killed: list[int] = []

    def kill_the_helper(outcome: str) -> None:
        for helper in helpers():
            if helper.pid is not None and not killed:
                os.kill(helper.pid, signal.SIGKILL)
                killed.append(helper.pid)

    status, documents = harvest(store, catalog(catalog_server, 12), kill_the_helper)
    assert killed and "The mapping process stopped" in caplog.text
    assert status["status"] == "done-errors" and len(documents) == 10
    assert {remote_id for remote_id, (state, _, _) in status["items"].items() if state == "done"} == {
        f"ds-{n}" for n in range(12) if n not in (3, 6)}
