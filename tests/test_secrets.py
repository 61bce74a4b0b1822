"""Secret config values (a CKAN `api_key`): sealed at rest with HARVEST_SECRET_KEY, dropped when the source is
pointed elsewhere, refused without a key, a clear job error with a wrong one, rotated to a new key.

Two hostile servers on 127.0.0.1 play the source's own CKAN and someone else's; what each received is read from
its request log, what is stored from the database file and rows themselves.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from harvesters.store import Store
from tests.helpers import Cli, job_errors
from tests.servers.api_server import ApiClient
from tests.servers.hostile import HostileServer

API_KEY = "ckan-token-8f3a91c2"
CONFIG = {"extra_configs": [{"key": "api_key", "value": API_KEY}]}


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """Another CKAN, on another port: not where the source's key was given for."""
    with HostileServer() as server:
        yield server


def ckan_url(server: HostileServer) -> str:
    return f"{server.url}/ckan/total=3"


def authorizations(server: HostileServer) -> list[str | None]:
    """The Authorization header of every request the server received (None: none sent)."""
    return [next((value for name, value in request.headers.items() if name.lower() == "authorization"), None)
            for request in server.requests]


def add_source(cli: Cli, server: HostileServer, config: dict[str, object] = CONFIG) -> dict[str, object]:
    return cli.json("source", "add", "portal", ckan_url(server), "--backend", "ckan", "--config", json.dumps(config))


def test_secrets_are_sealed_at_rest_and_opened_for_the_job(cli: Cli, store: Store, hostile_server: HostileServer,
                                                           database_url: str) -> None:
    add_source(cli, hostile_server)
    assert cli.json("run", "portal")["status"] == "done"
    assert set(authorizations(hostile_server)) == {API_KEY}  # the job opened it

    [config] = [json.loads(row[0]) for row in sqlite3.connect(database_url.removeprefix("sqlite:///")).execute(
        "SELECT config FROM sources")]
    [extra] = config["extra_configs"]
    assert extra["key"] == "api_key" and extra["value"].startswith("fernet:") and API_KEY not in extra["value"]
    store.engine.dispose()
    files = list(Path(database_url.removeprefix("sqlite:///")).parent.glob("harvest.db*"))  # the WAL too
    assert files and not [path for path in files if API_KEY.encode() in path.read_bytes()]


def test_pointing_a_source_elsewhere_from_the_cli_drops_its_secret(
    cli: Cli, store: Store, hostile_server: HostileServer, elsewhere: HostileServer
) -> None:
    add_source(cli, hostile_server)
    moved = cli("source", "update", "portal", "--url", ckan_url(elsewhere), "--json")
    assert "Secret config values dropped (the URL or backend changed): api_key; give them again with --config" in (
        " ".join(moved.stderr.split()))
    assert json.loads(moved.stdout)["config"]["extra_configs"] == []
    assert cli.json("run", "portal")["status"] == "done"
    assert elsewhere.requests and set(authorizations(elsewhere)) == {None}  # never received the key

    cli("source", "update", "portal", "--config", json.dumps(CONFIG))  # given again for the new URL: kept
    cli.json("run", "portal")
    assert authorizations(elsewhere)[-1] == API_KEY


def test_pointing_a_source_elsewhere_from_the_api_drops_its_secret(
    api: ApiClient, cli: Cli, hostile_server: HostileServer, elsewhere: HostileServer
) -> None:
    source = add_source(cli, hostile_server)
    read = api.send("GET", f"/source/{source['id']}/").json()  # its api_key masked
    refused = api.send("PUT", f"/source/{source['id']}/", json=read | {"url": ckan_url(elsewhere)})
    assert refused.status_code == 400
    assert refused.json()["message"] == ("Extra config 'api_key' is a secret sent masked, but it is not kept when "
                                         "the source's URL or backend changes: give its value again, or leave it out")
    moved = api.send("PUT", f"/source/{source['id']}/", json={"url": ckan_url(elsewhere)})
    assert moved.status_code == 200 and moved.json()["config"]["extra_configs"] == []
    assert cli.json("run", source["id"])["status"] == "done"
    assert elsewhere.requests and set(authorizations(elsewhere)) == {None}


def test_changing_the_backend_drops_the_secret_too(cli: Cli, store: Store, hostile_server: HostileServer) -> None:
    add_source(cli, hostile_server)
    cli("source", "update", "portal", "--backend", "dkan")
    assert store.get_source("portal").config["extra_configs"] == []


def test_without_a_key_a_secret_is_refused_saying_how_to_make_one(
    cli: Cli, api: ApiClient, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARVEST_SECRET_KEY")
    refused = cli("source", "add", "portal", ckan_url(hostile_server), "--backend", "ckan",
                  "--config", json.dumps(CONFIG), expect=2)
    message = ("Extra config 'api_key' is a secret, stored encrypted: HARVEST_SECRET_KEY is not set; make one with "
               "`harvest secrets new-key` and set it as HARVEST_SECRET_KEY where the harvester runs")
    assert refused.output.strip().splitlines() == [f"Error: {message}"]
    answer = api.send("POST", "/sources/", json={"name": "p", "url": ckan_url(hostile_server), "backend": "ckan",
                                                 "config": CONFIG})
    assert (answer.status_code, answer.json()["message"]) == (400, message)
    add_source(cli, hostile_server, config={})  # a source without secrets needs no key
    assert cli.json("run", "portal")["status"] == "done"

    key = cli("secrets", "new-key").stdout.strip()
    Fernet(key)  # a valid key
    monkeypatch.setenv("HARVEST_SECRET_KEY", key)
    cli("source", "update", "portal", "--config", json.dumps(CONFIG))
    cli.json("run", "portal")
    assert authorizations(hostile_server)[-1] == API_KEY


def test_a_wrong_key_fails_the_job_naming_the_source(cli: Cli, hostile_server: HostileServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    add_source(cli, hostile_server)
    monkeypatch.setenv("HARVEST_SECRET_KEY", Fernet.generate_key().decode())
    result = cli("run", "portal", expect=1)
    assert "Traceback" not in result.output
    job = cli.json("job", "show", cli.json("job", "list")[0]["id"])
    assert job["status"] == "failed"
    assert job_errors(job) == [
        "Source 'portal': its secret 'api_key' cannot be decrypted with HARVEST_SECRET_KEY (was the key changed? give "
        "the old key after the new one, comma-separated, and run `harvest secrets rotate`; or give the value again "
        "with `harvest source update portal --config ...`)"]
    assert hostile_server.requests == []  # nothing was asked of the catalog without its key


def test_a_key_is_rotated_by_sealing_every_secret_again(cli: Cli, store: Store, hostile_server: HostileServer,
                                                        secret_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    add_source(cli, hostile_server)
    sealed = store.get_source("portal").config["extra_configs"][0]["value"]
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("HARVEST_SECRET_KEY", f"{new},{secret_key}")
    assert cli.json("secrets", "rotate") == {"resealed": [store.get_source("portal").id], "problems": []}
    resealed = store.get_source("portal").config["extra_configs"][0]["value"]
    assert resealed != sealed and Fernet(new).decrypt(resealed.removeprefix("fernet:").encode()).decode() == API_KEY
    monkeypatch.setenv("HARVEST_SECRET_KEY", new)  # the old key dropped
    assert cli.json("run", "portal")["status"] == "done"
    assert set(authorizations(hostile_server)) == {API_KEY}


def test_a_url_run_again_with_the_same_secret_keeps_its_config(cli: Cli, hostile_server: HostileServer) -> None:
    """`harvest run URL --config` changes the implicit source's config only when it differs: a secret is compared
    opened, each sealing of it being another token."""
    def run(config: dict[str, object]) -> str:
        return cli("run", ckan_url(hostile_server), "--backend", "ckan", "--config", json.dumps(config)).stderr

    run(CONFIG)
    assert "Config of source" not in run(CONFIG)
    other = {"extra_configs": [{"key": "api_key", "value": "another-token"}]}
    assert "Config of source" in run(other)
    assert authorizations(hostile_server)[-1] == "another-token"
