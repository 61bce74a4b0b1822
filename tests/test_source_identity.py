"""A catalog is harvested by one source: a second one on the same catalog is refused unless forced, and
two runs of one URL started together make one source and one set of datasets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harvesters.identity import normalized_url
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli, datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.paged_dcat import catalog_page

HARVEST = str(Path(sys.executable).with_name("harvest"))


@pytest.mark.parametrize("spelling", [
    "https://data.example.org/catalog.ttl", "http://DATA.example.org:80/catalog.ttl/",
    "https://data.example.org.:443//catalog.ttl", "https://data.example.org/catalog.ttl#top",
])
def test_a_second_source_on_the_same_catalog_is_refused_naming_the_first(cli: Cli, spelling: str) -> None:
    first = cli.json("source", "add", "Région", "https://data.example.org/catalog.ttl", "--backend", "dcat")
    refused = cli("source", "add", "Région again", spelling, "--backend", "dcat", expect=2)
    message = " ".join(refused.stderr.split())
    assert f"Source 'Région' (region, {first['id']}) already harvests https://data.example.org/catalog.ttl" in message
    assert "--force" in message
    assert [source["id"] for source in cli.json("source", "list")] == [first["id"]]


def test_other_catalogs_backends_forced_and_deleted_sources_are_accepted(cli: Cli) -> None:
    cli("source", "add", "A", "https://data.example.org/api?b=2&a=1", "--backend", "ckan")
    cli("source", "add", "A2", "https://data.example.org/api?a=1&b=2", "--backend", "ckan", expect=2)
    cli("source", "add", "A3", "https://data.example.org/api?a=1&b=3", "--backend", "ckan")
    cli("source", "add", "A as DCAT", "https://data.example.org/api?a=1&b=2", "--backend", "dcat")
    forced = cli.json("source", "add", "A forced", "https://data.example.org/api?a=1&b=2", "--backend", "ckan",
                      "--force")
    assert forced["name"] == "A forced"
    cli("source", "delete", "a")
    cli("source", "delete", forced["id"])
    assert cli.json("source", "add", "A anew", "https://data.example.org/api?a=1&b=2", "--backend", "ckan")["id"]


def test_moving_a_source_onto_another_ones_catalog_is_refused_unless_forced(cli: Cli) -> None:
    cli("source", "add", "One", "https://one.example.org/catalog.ttl", "--backend", "dcat")
    cli("source", "add", "Two", "https://two.example.org/catalog.ttl", "--backend", "dcat")
    refused = cli("source", "update", "two", "--url", "https://ONE.example.org/catalog.ttl", expect=2)
    assert "Source 'One' (one, " in refused.stderr
    assert cli.json("source", "update", "two", "--url", "https://one.example.org/catalog.ttl",
                    "--force")["url"] == "https://one.example.org/catalog.ttl"


def test_the_api_refuses_a_second_source_with_400(api: ApiClient) -> None:
    body = {"name": "Portal", "url": "https://data.example.org/catalog.ttl", "backend": "dcat"}
    first = api.send("POST", "/sources/", json=body).json()
    refused = api.send("POST", "/sources/", json=body | {"name": "Portal again", "url": body["url"] + "/"})
    assert refused.status_code == 400
    assert f"Source 'Portal' (portal, {first['id']}) already harvests" in refused.json()["message"]
    assert api.send("POST", "/sources/", params={"force": "true"}, json=body | {"name": "Again"}).status_code == 201
    assert api.get("/sources/").json()["total"] == 2


def test_normalised_urls_keep_what_names_another_catalog() -> None:
    assert normalized_url("HTTPS://Data.Example.org:8443/a//b/?z=1&a=") == "web://data.example.org:8443/a/b?a=&z=1"
    assert normalized_url("https://[2001:DB8::1]:443/x") == "web://[2001:db8::1]/x"
    assert normalized_url("https://data.example.org/A") != normalized_url("https://data.example.org/a")
    assert normalized_url("file:///srv/data/../catalog.ttl") == "file:///srv/catalog.ttl"


# --- `harvest run URL` twice at once ------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_runs_of_one_url_started_together_make_one_source(
    database: str, tmp_path: Path, catalog_server: CatalogServer, request: pytest.FixtureRequest
) -> None:
    """Five trials, each on a fresh store: both processes start at once; one harvests the 300 datasets, the
    other is refused because the source already runs (the catalog answers slowly, so the first job lasts)."""
    url = catalog_server.url + "/slow/catalog.ttl"

    def slow_page(page_request: Request) -> Reply:
        time.sleep(0.4)
        number = int(page_request.query.get("page", "1"))
        return Reply(catalog_page(url, catalog_server.url, number, 300, 100), "text/turtle")

    catalog_server.handle("/slow/catalog.ttl", slow_page)
    for trial in range(5):
        if database == "sqlite":
            database_url = f"sqlite:///{tmp_path / f'trial-{trial}.db'}"
        else:
            database_url = request.getfixturevalue("postgres_server").create_database()
        env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url,
               "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1"}
        runs = [subprocess.Popen([HARVEST, "run", url, "--backend", "dcat", "--json"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [process.communicate(timeout=120) for process in runs]
        results = [(process.returncode, *output) for process, output in zip(runs, outputs, strict=True)]
        store = Store(database_url)
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 2], (trial, results)
        refused = next(stderr for code, _, stderr in results if code == 2)
        assert "already has a running job" in refused, refused
        [source] = store.list_sources()
        assert len(LocalCatalog(store).list_datasets(source.id)) == 300, trial
        harvested = next(json.loads(stdout) for code, stdout, _ in results if code == 0)
        assert harvested["source"] == source.id and harvested["status"] == "done"
        store.engine.dispose()


def test_run_url_takes_a_config_and_preview_url_leaves_nothing(cli: Cli, catalog_server: CatalogServer,
                                                               store: Store) -> None:
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A"}), "application/json")
    config = json.dumps({"extra_configs": [{"key": "page_size", "value": 5}]})
    preview = cli("preview", url, "--backend", "jsonlist", "--config", config)
    assert store.list_sources(deleted=True) == [] and cli.json("job", "list") == []
    assert "Preview on source" in preview.stdout and "harvest job show" not in preview.stdout
    job = cli.json("run", url, "--backend", "jsonlist", "--config", config)
    source = store.get_source(job["source"])
    assert source.config["extra_configs"] == [{"key": "page_size", "value": 5}]
    changed = cli("run", url, "--backend", "jsonlist", "--config", json.dumps({"features": {"strict": True}}))
    assert "Config of source" in changed.stderr
    assert store.get_source(source.id).config["features"] == {"strict": True}
    assert len(store.list_sources()) == 1
    cli("preview", url, "--backend", "jsonlist")  # the URL's own source, previewed: nothing more is made
    assert len(store.list_sources(deleted=True)) == 1
    bad = cli("run", "unknown-source", "--config", config, expect=2)
    assert "--config goes with a catalog URL" in bad.stderr
