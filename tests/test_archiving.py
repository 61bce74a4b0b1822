"""Archiving, by autoarchive at a job's end and by deleting a source with --archive-datasets: one loop
(harvesters/archiving.py), so a dataset the portal cannot archive is told the same way and never stops the others."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from harvesters.models import HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from harvesters.targets.local.tables import datasets
from tests.helpers import Cli, datasets_page
from tests.servers.catalog import CatalogServer


def harvested(store: Store, catalog_server: CatalogServer, count: int) -> HarvestSource:
    url = catalog_server.serve("/catalog.json", datasets_page(*({"id": f"ds-{n}", "title": f"D{n}"}
                                                                 for n in range(count))), "application/json")
    source = register_source(store, name="Archived", url=url, backend="jsonlist")
    Harvester(store).run(source)
    return source


def lose(store: Store, source: HarvestSource, remote_id: str) -> str:
    """Delete a harvested dataset from the local catalog behind the harvester's back: archiving it fails."""
    dataset_id = store.get_link(source.id, remote_id).dataset_id
    with store.begin() as conn:
        conn.execute(delete(datasets).where(datasets.c.id == dataset_id))
    return dataset_id


def archived_remote_ids(store: Store, source: HarvestSource) -> list[str]:
    return sorted(d["harvest"]["remote_id"] for d in LocalCatalog(store).list_datasets(source.id) if d["archived"])


def test_autoarchive_fails_the_item_it_cannot_archive_and_archives_the_others(
    store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_MAX_SHARE", "1")
    source = harvested(store, catalog_server, 3)
    lose(store, source, "ds-1")
    catalog_server.serve("/catalog.json", datasets_page(), "application/json")
    job = Harvester(store).run(source)
    outcomes = {item.remote_id: item.status for item in job.items}
    assert outcomes == {"ds-0": "archived", "ds-1": "failed", "ds-2": "archived"}
    failed = next(item for item in job.items if item.status == "failed")
    assert failed.errors[0].message.startswith("Archiving failed: ")
    assert archived_remote_ids(store, source) == ["ds-0", "ds-2"]
    assert store.get_link(source.id, "ds-1").archived_at is None  # tried again by the next job


def test_deleting_a_source_with_its_datasets_tells_each_one_not_archived_and_archives_the_others(
    store: Store, cli: Cli, catalog_server: CatalogServer
) -> None:
    source = harvested(store, catalog_server, 3)
    lost = lose(store, source, "ds-1")
    result = cli("source", "delete", source.id, "--archive-datasets", expect=1)
    assert "2 dataset(s) archived, 1 not" in result.stderr
    assert f"Not archived: Dataset {lost} (remote id ds-1): " in result.stderr
    assert archived_remote_ids(store, source) == ["ds-0", "ds-2"]
    assert store.get_link(source.id, "ds-1").archived_at is None
