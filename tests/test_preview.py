"""A preview tells the truth: what a run would archive (as the run would, grace period and mass-archive guard
included), what an update changes field by field, and, over the API, the full dataset it would write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli, datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer
from tests.shared import documented_path


def dataset(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"ds-{n}", "title": f"Dataset {n}", "files": [f"http://files.test/{n}.csv"], **extra}


def serve(server: CatalogServer, *entries: dict[str, object]) -> str:
    return server.serve("/catalog.json", datasets_page(*entries), "application/json")


def logs_of(job: dict[str, Any], remote_id: str) -> list[str]:
    return [log["message"] for item in job["items"] if item["remote_id"] == remote_id for log in item["logs"]]


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")


def test_the_preview_lists_what_the_run_then_archives(cli: Cli, store: Store, catalog_server: CatalogServer,
                                                      no_grace: None) -> None:
    url = serve(catalog_server, *(dataset(n) for n in range(1, 11)))
    cli("source", "add", "Ten", url, "--backend", "jsonlist")
    cli("run", "ten")
    serve(catalog_server, *(dataset(n) for n in range(1, 9)))
    preview = cli.json("preview", "ten")
    predicted = sorted(item["remote_id"] for item in preview["items"] if item["status"] == "archived")
    assert predicted == ["ds-10", "ds-9"]
    assert logs_of(preview, "ds-9") == ["Dataset would be archived: no longer on the remote (preview)"]
    assert all(document["archived"] is None for document in LocalCatalog(store).list_datasets())  # nothing archived
    text = cli("preview", "ten").stdout
    assert "Would archive 2: ds-10, ds-9" in " ".join(text.split())
    run = cli.json("run", "ten")
    assert sorted(item["remote_id"] for item in run["items"] if item["status"] == "archived") == predicted


def test_the_preview_applies_the_grace_period_and_the_mass_archive_guard(
        cli: Cli, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch) -> None:
    url = serve(catalog_server, *(dataset(n) for n in range(1, 5)))
    cli("source", "add", "Four", url, "--backend", "jsonlist")
    cli("run", "four")
    serve(catalog_server, dataset(1))
    within_grace = cli.json("preview", "four")
    assert [item for item in within_grace["items"] if item["status"] == "archived"] == []
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
    guarded = cli.json("preview", "four")
    assert [item for item in guarded["items"] if item["status"] == "archived"] == []
    assert guarded["status"] == "done-errors"
    [error] = [error["message"] for error in guarded["errors"]]
    assert "Autoarchive refused: 3 of 4 datasets (75%)" in error and error.endswith("nothing would be archived")


def test_a_preview_of_part_of_a_catalog_predicts_no_archive(cli: Cli, catalog_server: CatalogServer,
                                                          no_grace: None) -> None:
    url = serve(catalog_server, *(dataset(n) for n in range(1, 5)))
    cli("source", "add", "Part", url, "--backend", "jsonlist")
    cli("run", "part")
    serve(catalog_server, dataset(1), dataset(2), dataset(3))
    job = cli.json("preview", "part", "--max-items", "2")
    assert [item for item in job["items"] if item["status"] == "archived"] == []
    assert {"level": "info", "message": "Archives not predicted: this preview did not read the whole catalog"} \
        in job["errors"]


def test_an_update_is_told_field_by_field_against_what_was_last_written(
        cli: Cli, catalog_server: CatalogServer) -> None:
    url = serve(catalog_server, dataset(1, tags=["env", "old"]), dataset(2))
    cli("source", "add", "Changes", url, "--backend", "jsonlist")
    cli("run", "changes")
    serve(catalog_server, dataset(1, title="Dataset 1, revised", tags=["env", "new"],
                                  files=["http://files.test/1.csv", "http://files.test/1.json"]), dataset(2))
    job = cli.json("preview", "changes")
    assert logs_of(job, "ds-1")[:-1] == [
        "Would change resources: 1 added (1.json)",
        "Would change tags: +new -old",
        "Would change title: 'Dataset 1' → 'Dataset 1, revised'",
    ]
    assert logs_of(job, "ds-1")[-1] == "Dataset updated (preview)"
    assert logs_of(job, "ds-2") == ["Dataset unchanged (preview)"]
    report = " ".join(cli("preview", "changes").stdout.split())
    assert "Updates (against what was last written)" in report and "title: 'Dataset 1' → 'Dataset 1," in report


def test_the_api_preview_returns_the_full_datasets_it_would_write(api: ApiClient, catalog_server: CatalogServer,
                                                                 store: Store) -> None:
    url = serve(catalog_server, dataset(1, description="First", tags=["env"]), dataset(2, error="broken"))
    source = api.send("POST", "/sources/", json={"name": "Full", "url": url, "backend": "jsonlist"}).json()
    job = api.send("GET", f"/source/{source['id']}/preview/").json()
    items = {item["remote_id"]: item for item in job["items"]}
    written = items["ds-1"]["dataset"]
    reference = json.loads(documented_path("dataset.json").read_text())
    assert set(reference) - set(written) == set()
    assert (written["title"], written["description"], written["tags"]) == ("Dataset 1", "First", ["env"])
    assert [resource["url"] for resource in written["resources"]] == ["http://files.test/1.csv"]
    assert (written["harvest"]["remote_id"], written["harvest"]["source_id"]) == ("ds-1", source["id"])
    assert (written["uri"], written["page"], written["id"]) == (None, None, "not-available")
    assert items["ds-2"]["dataset"] is None and items["ds-2"]["status"] == "failed"
    assert LocalCatalog(store).list_datasets() == [] and store.list_jobs() == []
    Harvester(store).run(store.get_source(source["id"]))
    serve(catalog_server, dataset(1, description="First, longer", tags=["env"]), dataset(2, error="broken"))
    again = api.send("GET", f"/source/{source['id']}/preview/").json()
    [updated] = [item for item in again["items"] if item["remote_id"] == "ds-1"]
    assert updated["dataset"]["description"] == "First, longer"
    assert "Would change description: 'First' → 'First, longer'" in [log["message"] for log in updated["logs"]]


def test_the_local_catalog_keeps_no_copy_of_its_writes_and_an_older_copy_is_forgotten(
        store: Store, catalog_server: CatalogServer) -> None:
    """The catalog's documents are what an update is compared with: no second copy of each write is kept, and
    those an older version kept are deleted when the catalog opens the store."""
    source = register_source(store, name="Old", url=serve(catalog_server, dataset(1)), backend="jsonlist")
    Harvester(store).run(source)
    with store.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM payloads").scalar() == 0
        conn.exec_driver_sql("INSERT INTO payloads (source_id, remote_id, written, written_at) VALUES "
                             f"('{source.id}', 'ds-1', '{{}}', '2026-01-01 00:00:00')")
    reopened = Store(store.url)
    serve(catalog_server, dataset(1, title="Renamed"))
    job = Harvester(reopened).run(source, preview=True)
    assert [log.message for log in job.items[0].logs] == ["Would change title: 'Dataset 1' → 'Renamed'",
                                                           "Dataset updated (preview)"]
    with reopened.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM payloads").scalar() == 0
    reopened.engine.dispose()
