"""Terminal conventions: every option has help (no `<bool>` noise), tables fit 80 columns with ids whole (shown
by their shortest unique start, which every command accepts), `datasets list` pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from rich.cells import cell_len

from harvesters.cli import app
from harvesters.store import Store
from harvesters.store.schema import jobs
from tests.helpers import Cli, datasets_page
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import serve_paged_catalog

HARVEST = str(Path(sys.executable).with_name("harvest"))


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer's own click)
            found += every_command(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_option_and_argument_has_help_and_no_type_noise(cli: Cli) -> None:
    commands = every_command(typer.main.get_command(app))  # type: ignore[arg-type]
    assert len(commands) > 25
    for path, command in commands:
        assert command.help, path
        for param in command.params:
            assert getattr(param, "help", None), (path, param.name)
        shown = cli(*path, "--help").stdout
        assert "<bool>" not in shown, path


def columns_of(output: str) -> int:
    return max((cell_len(line) for line in output.splitlines()), default=0)


def test_tables_fit_80_columns_with_whole_short_ids(database_url: str, store: Store, catalog_server: CatalogServer,
                                                    tmp_path: Path) -> None:
    url = serve_paged_catalog(catalog_server, 5, page_size=2, path="/a-long-path/to/a/catalog/with/a/long/name.ttl")
    env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url, "COLUMNS": "80",
           "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1"}

    def harvest(*args: str) -> str:
        done = subprocess.run([HARVEST, *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    for _ in range(2):
        harvest("run", url, "--backend", "dcat")
    job_ids = [row.id for row in store.list_job_rows()]
    short = store.short_ids(jobs, job_ids)
    for args in (["job", "list"], ["source", "list"], ["datasets", "list"], ["backends"], ["job", "show", job_ids[0]],
                 ["run", url, "--backend", "dcat"], ["preview", url, "--backend", "dcat"]):
        output = harvest(*args)
        assert columns_of(output) <= 80, (args, output)
    listed = harvest("job", "list")
    assert all(any(line.split("│")[1].strip() == short[job_id] for line in listed.splitlines() if "│" in line)
               for job_id in job_ids), listed
    assert all(job_id.startswith(short[job_id]) and len(short[job_id]) >= 8 for job_id in job_ids)


def test_ids_are_taken_by_any_unique_start(cli: Cli, store: Store, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A"}), "application/json")
    job = cli.json("run", url, "--backend", "jsonlist")
    source_id, job_id = job["source"], job["id"]
    assert cli.json("job", "show", job_id[:6])["id"] == job_id
    assert cli.json("source", "show", source_id[:12])["id"] == source_id
    [dataset] = cli.json("datasets", "list")
    assert cli.json("datasets", "show", dataset["id"][:20])["id"] == dataset["id"]
    second = store.create_job(source_id)
    common = len(next(i for i, (a, b) in enumerate(zip(job_id, second, strict=True)) if a != b) * "x")
    ambiguous = cli("job", "show", job_id[:common], expect=2)
    assert "starts several job ids" in ambiguous.stderr
    assert "No harvest job 'zzzz'" in cli("job", "show", "zzzz", expect=2).stderr


def test_datasets_list_pages(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page(
        *({"id": f"d{n}", "title": f"Dataset {n}"} for n in range(7))), "application/json")
    cli("run", url, "--backend", "jsonlist")
    first = cli("datasets", "list", "--limit", "3")
    assert "Page 1 of 3 (3 of 7 datasets); --page 2 for more" in first.stderr
    titles = [dataset["title"] for dataset in cli.json("datasets", "list", "--limit", "3", "--page", "3")]
    assert titles == ["Dataset 6"]
    assert len(cli.json("datasets", "list", "--limit", "0")) == 7
    assert json.loads(cli("datasets", "list", "--json").stdout)[0]["title"] == "Dataset 0"
