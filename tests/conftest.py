"""Shared fixtures: a fresh store per test, the fixture catalog server, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from redis import Redis
from typer.testing import CliRunner

from backends import registry
from backends.base import Backend, Option, Record, SkipRecord
from harvesters.cli import app
from harvesters.models import Dataset, Mapped, Resource
from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.servers.api_server import ApiClient, ApiServer, admin_key
from tests.servers.catalog import CatalogServer
from tests.servers.hostile import HostileServer
from tests.servers.postgres_server import PostgresServer
from tests.servers.redis_server import RedisServer


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL, started once for the test session."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
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
def catalog_server() -> Iterator[CatalogServer]:
    with CatalogServer(rewrite={"http://data.test.org": "{url}"}) as server:
        yield server


@pytest.fixture
def hostile_server() -> Iterator[HostileServer]:
    """The hostile catalog server (tests/servers/hostile.py) on 127.0.0.1."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def api(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    """The HTTP API served by uvicorn on 127.0.0.1, on the test's store, with an admin key. The catalogs the
    tests register are served on 127.0.0.1 too, an internal address: HARVEST_ALLOW_PRIVATE_ADDRESSES lets the
    API accept them (tests/test_hostile_origin.py checks the API refuses them without it)."""
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", "1")
    with ApiServer(store) as server, ApiClient(server.url, admin_key(store)) as client:
        yield client


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0) -> Any:
        result = self.runner.invoke(app, [str(arg) for arg in args])
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
        return result

    def json(self, *args: str, expect: int | None = 0) -> Any:
        return json.loads(self(*args, "--json", expect=expect).stdout)


@pytest.fixture
def cli(database_url: str) -> Cli:
    return Cli()


class ListBackend(Backend):
    """A minimal backend for pipeline tests: a JSON page {"datasets": [...], "next": url|null}.

    A dataset with an "error" key fails its mapping with that message; one without a title is skipped.
    """

    name = "jsonlist"
    display_name = "JSON list (tests)"
    filters = (Option("tag", "Tag"),)
    features = (Option("strict", "Strict", bool, default=False),)
    extra_configs = (Option("page_size", "Page size", int, default=10), Option("token", "Token", secret=True))

    def gather(self) -> Iterator[Record]:
        url: str | None = self.url
        while url:
            page = self.http.get_json(url)
            for entry in page["datasets"]:
                yield Record(remote_id=entry["id"], remote_url=entry.get("url"), data=entry)
            url = page.get("next")

    def map(self, record: Record) -> Mapped:
        entry = record.data
        if "error" in entry:
            raise ValueError(entry["error"])
        if not entry.get("title"):
            raise SkipRecord("missing title")
        resources = [Resource(title=url.rsplit("/", 1)[-1], url=url) for url in entry.get("files", [])]
        return Mapped(dataset=Dataset(title=entry["title"], description=entry.get("description", ""),
                                      tags=entry.get("tags", []), resources=resources))


@pytest.fixture(autouse=True)
def list_backend() -> Iterator[type[Backend]]:
    """Register the test backend the way an installed package's entry point would be found."""
    registry()[ListBackend.name] = ListBackend
    yield ListBackend
    registry().pop(ListBackend.name, None)


def job_errors(job: dict[str, Any]) -> list[str]:
    """The messages of a job's errors (its JSON shape)."""
    return [error["message"] for error in job["errors"]]


def datasets_page(*entries: dict[str, Any], next_url: str | None = None) -> str:
    return json.dumps({"datasets": list(entries), "next": next_url})
