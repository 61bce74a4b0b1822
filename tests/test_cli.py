"""The `harvest` command: its names, options, exit codes and documented JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli, datasets_page
from tests.servers.catalog import CatalogServer
from tests.shared import FIXTURES, documented_path


def documented(name: str) -> dict[str, Any]:
    return json.loads(documented_path(name).read_text())


def missing_keys(documented_value: Any, ours: Any, path: str = "") -> list[str]:
    """Documented keys absent from our JSON, recursively (into objects and the first list entry)."""
    if isinstance(documented_value, dict) and isinstance(ours, dict):
        return [
            missing
            for key, value in documented_value.items()
            for missing in (
                [f"{path}{key}"] if key not in ours else missing_keys(value, ours[key], f"{path}{key}.")
            )
        ]
    if isinstance(documented_value, list) and documented_value and isinstance(ours, list) and ours:
        return missing_keys(documented_value[0], ours[0], path + "[].")
    return []


def test_missing_keys_notices_a_missing_nested_key() -> None:
    assert missing_keys({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}) == ["a.c"]
    assert missing_keys({"l": [{"x": 1}]}, {"l": [{}]}) == ["l.[].x"]


def test_source_lifecycle(cli: Cli) -> None:
    source = cli.json("source", "add", "My catalog", "https://example.org/catalog.xml", "--backend", "dcat",
                      "--schedule", "@daily", "--organization", "org-1", "--no-autoarchive")
    assert missing_keys(documented("harvest-source.json"), source | {"last_job": None}) == []
    assert (source["name"], source["backend"], source["schedule"], source["autoarchive"], source["active"]) == (
        "My catalog", "dcat", "@daily", False, True)
    assert source["organization"]["id"] == "org-1"
    assert source["validation"]["state"] == "pending"
    assert [s["id"] for s in cli.json("source", "list")] == [source["id"]]
    shown = cli.json("source", "show", source["slug"])
    assert shown["id"] == source["id"]
    updated = cli.json("source", "update", source["id"], "--schedule", "0 3 * * *", "--inactive")
    assert (updated["schedule"], updated["active"]) == ("0 3 * * *", False)
    deleted = cli.json("source", "delete", source["id"])
    assert deleted["deleted"] is not None
    assert cli.json("source", "list") == []
    assert [s["id"] for s in cli.json("source", "list", "--deleted")] == [source["id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "nope"], "Unknown backend 'nope'"),
        (["--backend", "jsonlist", "--config", '{"filters": [{"key": "color", "value": "red"}]}'],
         "Unknown filter 'color' for backend 'jsonlist'"),
        (["--backend", "jsonlist", "--config", '{"extra_configs": [{"key": "page_size", "value": "ten"}]}'],
         "Extra config 'page_size' expects a int, got str 'ten'"),
        (["--backend", "jsonlist", "--config", '{"features": {"strict": "yes"}}'],
         "Feature 'strict' expects a bool, got str 'yes'"),
        (["--backend", "jsonlist", "--config", '{"features": {"fast": true}}'],
         "Unknown feature 'fast' for backend 'jsonlist'"),
        (["--backend", "jsonlist", "--schedule", "every day"], "Invalid schedule 'every day'"),
    ],
)
def test_invalid_sources_are_refused_with_a_clear_error(cli: Cli, args: list[str], message: str) -> None:
    result = cli("source", "add", "Bad", "https://example.org/api", *args, expect=2)
    assert message in " ".join(result.stderr.split())
    assert cli.json("source", "list") == []


def test_config_values_are_coerced_and_secrets_are_never_printed(cli: Cli) -> None:
    config = {"filters": [{"key": "tag", "value": "env", "type": "exclude"}],
              "extra_configs": [{"key": "page_size", "value": "25"}, {"key": "token", "value": "s3cr3t"}]}
    result = cli("source", "add", "Secret", "https://example.org/api", "--backend", "jsonlist",
                 "--config", json.dumps(config), "--json")
    assert "s3cr3t" not in result.stdout
    source = json.loads(result.stdout)
    assert source["config"]["extra_configs"][0] == {"key": "page_size", "value": 25}
    assert "s3cr3t" not in cli("source", "show", source["id"]).stdout
    assert "s3cr3t" not in cli("source", "list", "--json").stdout


def test_run_reports_and_job_show_carries_the_documented_job(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page(
        {"id": "a", "title": "A", "files": ["http://f.test/a.csv"]},
        {"id": "b", "title": "B", "error": "cannot map b"},
    ), "application/json")
    result = cli("run", url, "--backend", "jsonlist")
    assert "done-errors" in result.stdout and "cannot map b" in result.stdout
    [job] = cli.json("job", "list")
    shown = cli.json("job", "show", job["id"])
    assert missing_keys(documented("harvest-job.json"), shown) == []
    assert shown["status"] == "done-errors"
    assert {item["remote_id"]: item["status"] for item in shown["items"]} == {"a": "done", "b": "failed"}
    [dataset] = cli.json("datasets", "list")
    assert missing_keys(documented("dataset.json"), dataset) == []
    assert cli.json("datasets", "show", dataset["id"])["harvest"]["remote_id"] == "a"


def test_the_same_url_reuses_its_implicit_source(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A"}), "application/json")
    first = cli.json("run", url, "--backend", "jsonlist")
    second = cli.json("run", url, "--backend", "jsonlist")
    assert first["source"] == second["source"]
    assert len(cli.json("source", "list")) == 1


def test_a_failed_job_exits_1_and_other_sources_are_unaffected(cli: Cli, catalog_server: CatalogServer) -> None:
    good = catalog_server.serve_fixture("/good.xml", "dcat/catalog.xml", "application/rdf+xml")
    html = catalog_server.serve("/catalog", "<html><body>Portal home</body></html>", "text/html")
    cli("source", "add", "good", good, "--backend", "dcat")
    cli("source", "add", "html", html, "--backend", "dcat")
    failed = cli("run", "html", "--json", expect=1)
    job = json.loads(failed.stdout)
    assert job["status"] == "failed"
    assert job["errors"] == [{"level": "error", "message": 'Unsupported mime type "text/html"'}]
    assert cli.json("run", "good")["status"] == "done"
    assert len(cli.json("datasets", "list")) == 4


def test_preview_leaves_no_trace(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A"}), "application/json")
    job = cli.json("preview", url, "--backend", "jsonlist")
    assert job["items"][0]["status"] == "done"
    assert cli.json("job", "list") == []
    assert cli.json("datasets", "list") == []


def test_unknown_ids_exit_2(cli: Cli) -> None:
    assert "No harvest source 'nope'" in cli("run", "nope", expect=2).stderr
    assert "No harvest job 'nope'" in cli("job", "show", "nope", expect=2).stderr
    assert "needs --backend" in cli("run", "https://example.org/x", expect=2).stderr
    assert "No dataset 'nope' in the local catalog" in cli("datasets", "show", "nope", expect=2).stderr
    assert "No data service 'nope'" in cli("dataservices", "show", "nope", expect=2).stderr


def test_backends_lists_the_installed_backends_with_their_options(cli: Cli) -> None:
    backends = {backend["id"]: backend for backend in cli.json("backends")}
    assert backends["dcat"]["label"] == "DCAT"
    assert backends["jsonlist"]["extra_configs"][0] == {
        "key": "page_size", "label": "Page size", "type": "int", "description": "", "default": 10, "secret": False}


@pytest.mark.servers  # the installed `harvest` in its own process
def test_the_console_script_runs_the_bundled_demo_twice(tmp_path: Path) -> None:
    """The installed `harvest` script, as an operator runs it: the second run changes nothing."""
    harvest = Path(sys.executable).parent / "harvest"
    env = {"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PATH": str(harvest.parent)}
    command = [str(harvest), "run", str(FIXTURES / "demo" / "catalog.ttl"), "--backend", "dcat"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "done" in first.stdout and "created" in first.stdout
    second = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=120, check=True)
    job = json.loads(second.stdout)
    assert job["status"] == "done" and len(job["items"]) >= 5
    assert {item["logs"][-1]["message"] for item in job["items"]} == {"Dataset unchanged"}


# What a run into the local catalog, without Redis, a schedule or a secret, does not use: each is loaded where it
# is used, not by every command (their share of the start-up: benchmarks/startup_benchmark.py).
UNUSED_BY_A_RUN = {"redis", "rq", "harvesters.queue", "fastapi", "uvicorn", "harvesters.targets.udata", "cryptography",
                   "croniter"}


@pytest.mark.servers  # `harvest run` in its own process, to see what it loaded
def test_a_run_loads_none_of_what_it_does_not_use(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded.json"
    command = ("import atexit, json, sys\n"
               f"atexit.register(lambda: open({str(loaded)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
               "from harvesters.__main__ import main\n"
               "main()\n")
    env = {"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PATH": str(Path(sys.executable).parent)}
    subprocess.run([sys.executable, "-c", command, "run", str(FIXTURES / "demo" / "catalog.ttl"), "--backend", "dcat"],
                   env=env, capture_output=True, timeout=120, check=True)
    modules = set(json.loads(loaded.read_text()))
    assert "harvesters.pipeline" in modules and modules & UNUSED_BY_A_RUN == set()
