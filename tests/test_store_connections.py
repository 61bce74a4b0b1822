"""The store's connections: a batch's statements on one connection, and connections that went stale while idle
replaced before use, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text

from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.store.liveness import PING_AFTER_IDLE
from tests.servers.postgres_server import PostgresServer


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def checkouts(store: Store) -> list[int]:
    """A list that grows by one at each connection taken from the store's pool."""
    taken: list[int] = []
    event.listen(store.engine.pool, "checkout", lambda *args: taken.append(1))
    return taken


def test_a_connected_block_takes_one_connection_for_all_its_transactions(store: Store) -> None:
    source = register_source(store, name="One", url="https://example.org/catalog.ttl", backend="dcat")
    taken = checkouts(store)
    with store.connected():
        job_id = store.create_job(source.id)
        assert not store.job_finished(job_id)
        store.update_job(job_id, status="done")
        assert store.job_finished(job_id)
        with store.connected():  # within another: the same connection
            assert store.job_row(job_id).status == "done"
    assert len(taken) == 1
    store.job_row(job_id)
    assert len(taken) == 2  # outside the block, one per transaction again


def test_a_transaction_within_a_transaction_of_a_connected_block_gets_its_own(store: Store) -> None:
    source = register_source(store, name="Nested", url="https://example.org/catalog.ttl", backend="dcat")
    with store.connected():
        with store.begin() as outer:
            job_id = store.create_job(source.id)  # committed on a second connection
            assert outer.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 1
        assert store.job_row(job_id).status == "pending"


def test_a_rolled_back_transaction_leaves_the_held_connection_usable(store: Store) -> None:
    source = register_source(store, name="Rolled back", url="https://example.org/catalog.ttl", backend="dcat")
    with store.connected():
        with pytest.raises(RuntimeError), store.begin() as conn:
            conn.execute(text("UPDATE sources SET name = 'changed'"))
            raise RuntimeError("the block fails")
        assert store.get_source(source.id).name == "Rolled back"


@pytest.mark.servers
def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(postgres_server: PostgresServer) -> None:
    store = Store(postgres_server.create_database())
    with store.begin() as conn:  # the pool's one connection, now idle in it
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    other = Store(store.url)
    with other.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    other.engine.dispose()
    time.sleep(PING_AFTER_IDLE + 0.2)
    assert store.count_jobs() == 0  # pinged, found dropped, replaced: no error
    with store.begin() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    store.engine.dispose()
