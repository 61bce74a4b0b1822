"""Listings of the HTTP API in a constant number of queries, whatever the number of sources listed (their last
jobs read in one), with each source's right last job. Speed itself is measured by benchmarks/listings_benchmark.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from harvesters.clock import utcnow
from harvesters.sources import register_source
from harvesters.store import Store
from tests.servers.api_server import ApiClient


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store runs from now on."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    yield seen
    event.remove(store.engine, "before_cursor_execute", count)


def sources_with_jobs(store: Store, count: int) -> list[str]:
    """`count` more sources (each on a catalog of its own), the n-th with n % 4 jobs (a preview last of all),
    created a minute apart."""
    ids, now, first = [], utcnow(), len(store.list_sources())
    for n in range(count):
        number = first + n
        source = register_source(store, name=f"Source {number}", url=f"https://data{number}.example.org/",
                                 backend="dcat")
        ids.append(source.id)
        for age in range(n % 4):
            job_id = store.create_job(source.id)
            store.update_job(job_id, status="done", created=now - timedelta(minutes=10 - age))
        store.create_job(source.id, preview=True)  # never a source's last job
    return ids


def test_listing_sources_takes_the_same_few_queries_for_5_or_50(api: ApiClient, store: Store,
                                                                statements: list[str]) -> None:
    sources_with_jobs(store, 5)
    statements.clear()
    assert len(api.get("/sources/", params={"page_size": 50}).json()["data"]) == 5
    few = len(statements)
    sources_with_jobs(store, 45)
    statements.clear()
    assert len(api.get("/sources/", params={"page_size": 50}).json()["data"]) == 50
    assert len(statements) == few <= 4


def test_each_listed_source_has_its_newest_job_and_none_without_one(api: ApiClient, store: Store) -> None:
    ids = sources_with_jobs(store, 8)
    listed = {source["id"]: source["last_job"] for source in api.get("/sources/").json()["data"]}
    for n, source_id in enumerate(ids):
        jobs = store.list_jobs(source_id)  # newest first, previews excluded
        assert (listed[source_id] or {}).get("id") == (jobs[0].id if jobs else None)
        assert len(jobs) == n % 4
    assert api.get(f"/source/{ids[3]}/").json()["last_job"]["id"] == store.list_jobs(ids[3])[0].id
