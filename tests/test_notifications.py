"""Notifications of a source's jobs: emails through a real SMTP server on 127.0.0.1 (aiosmtpd) and a webhook on a
real HTTP receiver, on error or always, with the grouped error summary; a webhook follows the catalogs' rules
on internal addresses."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator

import pytest

from harvesters.store import Store
from tests.helpers import Cli, datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer
from tests.servers.smtp import SmtpServer
from tests.tiers import starts

BROKEN = [{"id": "a", "title": "A"}, {"id": "b", "error": "Broken record"}, {"id": "c", "error": "Broken record"}]


@pytest.fixture
@starts("servers")
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        monkeypatch.setenv("HARVEST_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("HARVEST_SMTP_PORT", str(server.port))
        monkeypatch.setenv("HARVEST_SMTP_SENDER", "harvest@example.org")
        yield server


def catalog(server: CatalogServer, entries: list[dict[str, object]]) -> str:
    return server.serve("/catalog.json", datasets_page(*entries), "application/json")


def hook(server: CatalogServer) -> str:
    return server.serve("/hook", "", "text/plain", status=204)


def test_an_email_tells_a_job_that_ended_with_errors(cli: Cli, smtp: SmtpServer,
                                                     catalog_server: CatalogServer) -> None:
    url = catalog(catalog_server, BROKEN)
    cli("source", "add", "Région", url, "--backend", "jsonlist", "--notify-email", "ops@example.org",
        "--notify-email", "data@example.org")
    job = cli.json("run", "region")
    assert job["status"] == "done-errors"
    [(recipients, message)] = smtp.messages
    assert recipients == ["ops@example.org", "data@example.org"]
    assert message["Subject"] == "[harvest] Région: job done-errors" and message["From"] == "harvest@example.org"
    body = message.get_content()
    assert f"Job {job['id']} of source 'Région' (jsonlist, {url}) ended done-errors" in body
    assert "1 created" in body and "2 failed" in body
    assert "2 × [failed] Broken record" in body


def test_on_error_a_clean_job_is_not_notified_and_always_it_is(cli: Cli, smtp: SmtpServer,
                                                              catalog_server: CatalogServer) -> None:
    url = catalog(catalog_server, [{"id": "a", "title": "A"}])
    cli("source", "add", "Clean", url, "--backend", "jsonlist", "--notify-email", "ops@example.org")
    assert cli.json("run", "clean")["status"] == "done"
    assert smtp.messages == []
    assert cli.json("source", "update", "clean", "--notify-on", "always")["notifications"] == {
        "emails": ["ops@example.org"], "webhook": None, "on": "always"}
    cli("run", "clean")
    assert [message["Subject"] for _, message in smtp.messages] == ["[harvest] Clean: job done"]
    cli("source", "update", "clean", "--no-notifications")
    cli("run", "clean")
    assert len(smtp.messages) == 1


def test_a_webhook_receives_the_report_with_grouped_problems(cli: Cli, catalog_server: CatalogServer) -> None:
    webhook = hook(catalog_server)
    cli("source", "add", "Hooked", catalog(catalog_server, BROKEN), "--backend", "jsonlist",
        "--notify-webhook", webhook)
    job = cli.json("run", "hooked")
    [received] = [request for request in catalog_server.requests if request.path == "/hook"]
    assert received.method == "POST" and received.headers["Content-Type"] == "application/json"
    report = json.loads(received.body)
    assert report["event"] == "harvest.job.ended"
    assert (report["job"]["id"], report["job"]["status"], report["source"]["slug"]) == (job["id"], "done-errors",
                                                                                        "hooked")
    assert report["summary"]["failed"] == 2
    assert report["problems"] == [{"status": "failed", "level": "error", "message": "Broken record", "count": 2}]


def test_a_cancelled_job_is_notified(cli: Cli, store: Store, catalog_server: CatalogServer) -> None:
    webhook = hook(catalog_server)
    source = cli.json("source", "add", "Cancelled", catalog(catalog_server, BROKEN), "--backend", "jsonlist",
                      "--notify-webhook", webhook)
    job_id = store.create_job(source["id"], exclusive=True)
    cli("job", "cancel", job_id)
    [received] = [request for request in catalog_server.requests if request.path == "/hook"]
    report = json.loads(received.body)
    assert report["job"]["status"] == "failed"
    assert report["job"]["errors"][-1]["message"] == "Cancelled from the command line"


def test_a_notification_that_cannot_be_sent_is_a_job_warning(cli: Cli, catalog_server: CatalogServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVEST_SMTP_HOST", raising=False)
    cli("source", "add", "Unsent", catalog(catalog_server, BROKEN), "--backend", "jsonlist",
        "--notify-email", "ops@example.org", "--notify-webhook", catalog_server.url + "/no-such-hook")
    job = cli.json("run", "unsent")
    warnings = [error["message"] for error in job["errors"] if error["level"] == "warning"]
    assert warnings == [
        "Notification not sent: email to ops@example.org: HARVEST_SMTP_HOST is not set",
        f"Notification not sent: webhook {catalog_server.url}/no-such-hook: HTTP 404 Not Found from "
        f"{catalog_server.url}/no-such-hook"]
    assert job["status"] == "done-errors"  # as the items made it, whatever the notifications


def test_the_api_refuses_a_webhook_on_an_internal_address(api: ApiClient, catalog_server: CatalogServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"name": "Hooked", "url": "https://data.example.org/catalog.json", "backend": "jsonlist",
            "notifications": {"webhook": "http://127.0.0.1:9/hook"}}
    monkeypatch.delenv("HARVEST_ALLOW_PRIVATE_ADDRESSES")
    refused = api.send("POST", "/sources/", json=body)
    assert refused.status_code == 400
    assert "127.0.0.1 is an internal address" in refused.json()["message"]
    bad = api.send("POST", "/sources/", json=body | {"notifications": {"emails": ["not an address"]}})
    assert bad.status_code == 400 and "Invalid notification email 'not an address'" in bad.json()["message"]
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", "1")
    accepted = api.send("POST", "/sources/", json=body)
    assert accepted.status_code == 201
    assert accepted.json()["notifications"] == {"emails": [], "webhook": "http://127.0.0.1:9/hook", "on": "error"}


def test_a_webhook_name_resolving_to_an_internal_address_is_not_reached(
        cli: Cli, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A webhook named by a host name (not an internal address by its name) that resolves to one: the connection
    is refused, as a catalog's would be, unless HARVEST_ALLOW_PRIVATE_ADDRESSES."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"this machine's name {name} does not resolve")
    if any(ipaddress.ip_address(address).is_global for address in addresses):
        pytest.skip(f"this machine's name {name} resolves to a public address")
    monkeypatch.delenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", raising=False)
    cli("source", "add", "Named", catalog(catalog_server, BROKEN), "--backend", "jsonlist",
        "--notify-webhook", f"http://{name}:{catalog_server.url.rsplit(':', 1)[1]}/hook")
    job = cli.json("run", "named")
    [warning] = [error["message"] for error in job["errors"] if error["level"] == "warning"]
    assert f"Refused to connect to {name}" in warning and "an internal address" in warning
    assert not [request for request in catalog_server.requests if request.path == "/hook"]
