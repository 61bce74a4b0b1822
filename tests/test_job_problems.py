"""Errors people can read: item problems grouped by message with their counts, exported whole, a job that
harvested nothing is not a success, config errors in the config's words, options with their descriptions."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.helpers import Cli, datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer

ENTRIES = [{"id": f"untitled-{n}"} for n in range(2000)] + [
    {"id": "good", "title": "Good"}, {"id": "bad-1", "error": "Broken record"},
    {"id": "bad-2", "error": "Broken record"}]


@pytest.fixture
def mixed_catalog(catalog_server: CatalogServer) -> str:
    return catalog_server.serve("/catalog.json", datasets_page(*ENTRIES), "application/json")


def test_the_report_and_job_show_group_problems_by_message(cli: Cli, mixed_catalog: str) -> None:
    report = cli("run", mixed_catalog, "--backend", "jsonlist").stdout
    lines = [" ".join(line.replace("│", " ").split()) for line in report.splitlines()]
    assert "2000 skipped warning missing title" in lines
    assert "2 failed error Broken record" in lines
    assert sum("missing title" in line for line in lines) == 1
    [job] = cli.json("job", "list")
    assert job["items"] == {"total": 2003, "by_status": {"pending": 0, "started": 0, "done": 1, "failed": 2,
                                                         "skipped": 2000, "archived": 0}}
    shown = cli("job", "show", job["id"][:10]).stdout
    assert "2000" in shown and sum("missing title" in line for line in shown.splitlines()) == 1
    assert f"harvest job errors {job['id'][:8]} --csv" in shown


def test_every_problem_is_exported_as_csv_and_json(cli: Cli, api: ApiClient, mixed_catalog: str) -> None:
    job = cli.json("run", mixed_catalog, "--backend", "jsonlist")
    rows = list(csv.DictReader(io.StringIO(cli("job", "errors", job["id"], "--csv").stdout)))
    assert len(rows) == 2002
    assert rows[0] == {"remote_id": "untitled-0", "status": "skipped", "level": "warning", "message": "missing title"}
    assert rows[-1] == {"remote_id": "bad-2", "status": "failed", "level": "error", "message": "Broken record"}
    exported = json.loads(cli("job", "errors", job["id"], "--json").stdout)
    assert exported[:1] == [rows[0]] and len(exported) == 2002
    over_http = api.get(f"/job/{job['id']}/errors/", params={"format": "csv"})
    assert over_http.headers["content-type"].startswith("text/csv")
    assert list(csv.DictReader(io.StringIO(over_http.text))) == rows
    assert api.get(f"/job/{job['id'][:9]}/errors/").json() == exported
    detail = api.get(f"/job/{job['id']}/").json()
    assert detail["problems"][:2] == [
        {"status": "skipped", "level": "warning", "message": "missing title", "count": 2000},
        {"status": "failed", "level": "error", "message": "Broken record", "count": 2}]


def test_a_job_that_harvested_nothing_exits_1_and_says_so(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/nothing.json", datasets_page({"id": "a"}, {"id": "b", "error": "Broken"}),
                               "application/json")
    result = cli("run", url, "--backend", "jsonlist", expect=1)
    assert "Nothing harvested: the 2 item(s) gathered were all skipped (1) or failed (1)" in " ".join(
        result.stdout.split())
    assert cli.json("run", url, "--backend", "jsonlist", expect=1)["status"] == "done-errors"
    empty = catalog_server.serve("/empty.json", datasets_page(), "application/json")
    assert cli.json("run", empty, "--backend", "jsonlist")["status"] == "done"  # an empty catalog is no failure


@pytest.mark.parametrize(("config", "message"), [
    ({"extra_configs": {"page_size": 5}}, "Invalid config: extra_configs must be a list of {key, value}"),
    ({"extra_configs": [{"key": "page_size"}]},
     "Invalid config: extra_configs must be a list of {key, value}: entry 1 has no value"),
    ({"filters": [{"key": "tag", "value": "x", "type": "maybe"}]},
     "Invalid config: filters entry 1: type must be include or exclude, not 'maybe'"),
    ({"features": ["strict"]}, "Invalid config: features must be an object {key: true or false}"),
    ({"extras": []}, "Invalid config: unknown key 'extras': a config has filters, features and extra_configs"),
])
def test_config_errors_speak_the_configs_language(cli: Cli, api: ApiClient, config: dict[str, object],
                                                  message: str) -> None:
    refused = cli("source", "add", "Bad", "https://example.org/api", "--backend", "jsonlist",
                  "--config", json.dumps(config), expect=2)
    assert refused.stderr.strip() == f"Error: {message}"
    assert "pydantic" not in refused.stderr and "errors.pydantic.dev" not in refused.stderr
    body = {"name": "Bad", "url": "https://example.org/api", "backend": "jsonlist", "config": config}
    over_http = api.send("POST", "/sources/", json=body)
    assert (over_http.status_code, over_http.json()["message"]) == (400, message)


def test_backends_shows_each_options_description(cli: Cli) -> None:
    listed = " ".join(cli("backends").stdout.replace("│", " ").split())
    assert "ckan filter organization str A CKAN organization name" in listed
    assert "Other hosts (host or host:port, comma-separated)" in listed
