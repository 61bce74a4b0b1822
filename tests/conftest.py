"""Shared fixtures: a fresh store per test, the servers, and the CLI. Helpers live in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from redis import Redis

from backends import registry
from backends.base import Backend
from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.helpers import Cli, ListBackend
from tests.servers.api_server import ApiClient, ApiServer, admin_key
from tests.servers.catalog import CatalogServer
from tests.servers.hostile import HostileServer
from tests.servers.postgres_server import PostgresServer
from tests.servers.redis_server import RedisServer
from tests.servers.udata_portal import UdataPortal as UdataServer
from tests.tiers import starts

pytest_plugins = ["tests.tiers"]


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A HARVEST_SECRET_KEY of its own for each test, as a deployment holding secrets has (tests/test_secrets.py
    unsets it where it checks what happens without one)."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HARVEST_SECRET_KEY", key)
    return key


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'harvest.db'}"
    monkeypatch.setenv("HARVEST_DATABASE_URL", url)
    return url


@pytest.fixture(scope="module")
@starts("servers", "udata")
def udata() -> Iterator[UdataServer]:
    """The real udata API (its own virtualenv, on mongomock), one per test module that uses it."""
    with UdataServer() as server:
        yield server


@pytest.fixture(scope="session")
@starts("servers")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL, started once for the test session."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh store on SQLite, then on PostgreSQL: a module overriding `database_url` with it runs its tests
    (and the `store`, `cli` fixtures) on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'harvest.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    monkeypatch.setenv("HARVEST_DATABASE_URL", url)
    return url


@pytest.fixture(scope="session")
@starts("servers")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server, started once for the test session."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty Redis, set as HARVEST_REDIS_URL."""
    Redis.from_url(redis_server.url).flushall()
    monkeypatch.setenv("HARVEST_REDIS_URL", redis_server.url)
    return redis_server.url


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def harvester(store: Store) -> Harvester:
    return Harvester(store)


@pytest.fixture
@starts("servers")
def catalog_server() -> Iterator[CatalogServer]:
    with CatalogServer(rewrite={"http://data.test.org": "{url}"}) as server:
        yield server


@pytest.fixture
@starts("servers")
def hostile_server() -> Iterator[HostileServer]:
    """The hostile catalog server (tests/servers/hostile.py) on 127.0.0.1."""
    with HostileServer() as server:
        yield server


@pytest.fixture
@starts("servers")
def api(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    """The HTTP API served by uvicorn on 127.0.0.1, on the test's store, with an admin key. The catalogs the
    tests register are served on 127.0.0.1 too, an internal address: HARVEST_ALLOW_PRIVATE_ADDRESSES lets the
    API accept them (tests/test_hostile_origin.py checks the API refuses them without it)."""
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", "1")
    with ApiServer(store) as server, ApiClient(server.url, admin_key(store)) as client:
        yield client


@pytest.fixture
def cli(database_url: str) -> Cli:
    return Cli()


@pytest.fixture(autouse=True)
def list_backend() -> Iterator[type[Backend]]:
    """Register the test backend the way an installed package's entry point would be found."""
    registry()[ListBackend.name] = ListBackend
    yield ListBackend
    registry().pop(ListBackend.name, None)
