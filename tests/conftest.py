"""Shared fixtures: a fresh store per test, the fixture catalog server, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harvesters.cli import app
from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.servers.catalog import FIXTURES, CatalogServer


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'harvest.db'}"
    monkeypatch.setenv("HARVEST_DATABASE_URL", url)
    return url


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


def fixture_path(name: str) -> Path:
    return FIXTURES / name
