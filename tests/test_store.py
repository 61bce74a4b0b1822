"""The store itself: upgrading a store made by an older version, time zones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect

from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.store.schema import jobs, links, sources
from tests.helpers import datasets_page
from tests.servers.catalog import CatalogServer

DROPPED = {jobs.name: {"resumed", "gather_failed"}, links.name: {"kind", "record_hash", "summary"},
           sources.name: {"scheduled_at"}}


def old_store(path: Path) -> str:
    """A store as an older version made it: some newer columns missing."""
    Store(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:
        for table, columns in DROPPED.items():
            for column in columns:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    return f"sqlite:///{path}"


def columns(store: Store, table: str) -> set[str]:
    return {column["name"] for column in inspect(store.engine).get_columns(table)}


def test_a_store_from_an_older_version_gets_the_new_columns_and_works(
    tmp_path: Path, catalog_server: CatalogServer
) -> None:
    url = old_store(tmp_path / "old.db")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert "kind" not in {row[1] for row in conn.execute("PRAGMA table_info(links)")}
    store = Store(url)
    for table, dropped in DROPPED.items():
        assert dropped <= columns(store, table), table
    catalog = catalog_server.serve("/c.json", datasets_page({"id": "a", "title": "A"}), "application/json")
    source = register_source(store, name="old", url=catalog, backend="jsonlist")
    assert Harvester(store).run(source, exclusive=True).status == "done"
    assert store.get_link(source.id, "a").kind == "dataset"


def test_dates_come_back_aware_and_in_utc(store: Store) -> None:
    source = store.create_source(name="tz", url="https://x.test", backend="dcat")
    assert source.created_at.utcoffset().total_seconds() == 0


def test_records_an_older_store_kept_in_its_items_are_moved_and_processed(
    tmp_path: Path, catalog_server: CatalogServer
) -> None:
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    entries = [{"id": name, "title": name.upper()} for name in ("a", "b", "c")]
    catalog = catalog_server.serve("/c.json", datasets_page(*entries), "application/json")
    source = register_source(store, name="old", url=catalog, backend="jsonlist")
    job_id = store.create_job(source.id)
    Harvester(store).gather(job_id, dispatch=lambda job, ids: None)  # recorded, pending, not processed
    store.engine.dispose()
    with sqlite3.connect(path) as conn:  # as an older version kept them: in the items
        conn.execute("ALTER TABLE items ADD COLUMN record JSON")
        conn.execute("UPDATE items SET record = (SELECT CAST(record AS TEXT) FROM records WHERE item_id = items.id)")
        conn.execute("DROP TABLE records")
    upgraded = Store(f"sqlite:///{path}")
    assert "record" not in columns(upgraded, "items")
    Harvester(upgraded).process(job_id, upgraded.pending_item_ids(job_id))
    Harvester(upgraded).finalize(job_id)
    assert upgraded.get_job(job_id).status == "done"
    assert upgraded.summary(job_id)["created"] == 3
