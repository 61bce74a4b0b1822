"""No way out of a source's origin: links and redirects stay on http(s) and on the source's host, connections off
internal addresses, whatever a hostile catalog says. Only 127.0.0.1 and names resolving to it are contacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.base import ConfigError
from harvesters.http import Http, HttpError
from harvesters.models import Dataset, Mapped, Resource
from harvesters.origin import RefusedUrl, SourceOrigin, is_internal_address
from harvesters.sources import register_source
from harvesters.store import Store
from tests.helpers import Cli, job_errors
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer
from tests.servers.hostile import DATA_LINK, SCRIPT_LINK, HostileServer, turtle

PASSWD = Path("/etc/passwd").read_text().splitlines()[0]  # its first line, to find it anywhere it would leak


def assert_nothing_leaked(cli: Cli) -> None:
    assert PASSWD not in json.dumps(cli.json("datasets", "list"))


@pytest.mark.parametrize("link", ["file:///etc/passwd", "ftp://127.0.0.1/catalog.ttl", "data:text/turtle,x",
                                  "gopher://127.0.0.1:70/"])
def test_a_paging_link_off_http_is_refused_naming_it(cli: Cli, hostile_server: HostileServer, link: str) -> None:
    job = cli.json("run", f"{hostile_server.url}/hydra/next?to={link}", "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"Refused {link}: only http and https links are followed"]
    assert [item["status"] for item in job["items"]] == ["done"]  # the first page's dataset
    assert_nothing_leaked(cli)


def test_a_redirect_to_a_local_file_is_refused_naming_it(cli: Cli, hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/redirect?to=file:///etc/passwd"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"Refused the redirect from {url} to file:///etc/passwd: only http and https links are "
                           "followed"]
    assert job["items"] == []
    assert_nothing_leaked(cli)


def test_a_paging_link_to_another_origin_is_refused(cli: Cli, hostile_server: HostileServer) -> None:
    other = f"http://localhost:{hostile_server.url.rsplit(':', 1)[1]}/hydra/catalog.ttl"  # same server, other host
    job = cli.json("run", f"{hostile_server.url}/hydra/next?to={other}", "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"Refused {other}: it leaves the source's origin {hostile_server.url} (the extra config "
                           "allowed_hosts names other hosts it may lead to)"]
    assert hostile_server.requests_to("/hydra/catalog.ttl") == []


def test_a_redirect_to_another_port_is_refused(cli: Cli, hostile_server: HostileServer,
                                               catalog_server: CatalogServer) -> None:
    elsewhere = catalog_server.serve("/catalog.ttl", turtle(catalog_server.url, [0]).body, "text/turtle")
    url = f"{hostile_server.url}/redirect?to={elsewhere}"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"Refused the redirect from {url} to {elsewhere}: it leaves the source's origin "
                           f"{hostile_server.url} (the extra config allowed_hosts names other hosts it may lead to)"]
    assert catalog_server.requests == []


def allowing(cli: Cli, url: str, hosts: str) -> dict:
    config = {"extra_configs": [{"key": "allowed_hosts", "value": hosts}]}
    cli("source", "add", "allowing", url, "--backend", "dcat", "--config", json.dumps(config))
    return cli.json("run", "allowing", expect=None)


def test_an_allowed_host_is_still_refused_on_an_internal_address_it_resolves_to(
    cli: Cli, hostile_server: HostileServer
) -> None:
    """`localhost` passes the origin rules once allowed, but it resolves to 127.0.0.1: an internal address the
    source (registered on 127.0.0.1 itself, not on localhost) may not reach through a link."""
    port = hostile_server.url.rsplit(":", 1)[1]
    job = allowing(cli, f"{hostile_server.url}/hydra/next?to=http://localhost:{port}/hydra/catalog.ttl", "localhost")
    assert job["status"] == "failed"
    [error] = job_errors(job)
    assert error.startswith("Refused to connect to localhost (") and "127.0.0.1" in error
    assert error.endswith("set HARVEST_ALLOW_PRIVATE_ADDRESSES=1 to harvest an intranet")
    assert hostile_server.requests_to("/hydra/catalog.ttl") == []


def test_allowed_hosts_and_private_addresses_together_let_the_link_through(
    cli: Cli, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", "1")
    port = hostile_server.url.rsplit(":", 1)[1]
    job = allowing(cli, f"{hostile_server.url}/hydra/next?to=http://localhost:{port}/hydra/catalog.ttl?total=2",
                   "localhost")
    assert job["status"] == "done", job_errors(job)
    assert len(job["items"]) == 3
    assert hostile_server.requests_to("/hydra/catalog.ttl")[0].headers["Host"] == f"localhost:{port}"


def test_a_source_registered_on_localhost_reaches_its_own_host(cli: Cli, hostile_server: HostileServer) -> None:
    port = hostile_server.url.rsplit(":", 1)[1]
    job = cli.json("run", f"http://localhost:{port}/hydra/catalog.ttl?total=2", "--backend", "dcat")
    assert job["status"] == "done"


def test_the_connection_check_is_on_the_resolved_address() -> None:
    """A source on a public name: a link to `localhost` is refused for what localhost resolves to."""
    origin = SourceOrigin("https://data.example.org/catalog.ttl", allowed_hosts={"localhost"})
    origin.check_url("https://localhost/catalog.ttl")  # the text of the link passes
    with pytest.raises(RefusedUrl, match=r"Refused to connect to localhost \(.*127\.0\.0\.1.*\): an internal address"):
        origin.addresses("localhost", 443)
    assert SourceOrigin("http://127.0.0.1:8080/", allow_private=False).addresses("127.0.0.1", 8080) == ["127.0.0.1"]


def test_the_origin_rules_in_short() -> None:
    origin = SourceOrigin("http://data.example.org/catalog?page=1", allowed_hosts={"cdn.example.org",
                                                                                  "mirror.example.org:8443"})
    for allowed in ("http://data.example.org/catalog?page=2", "https://data.example.org/catalog?page=2",
                    "https://cdn.example.org:9000/x", "https://mirror.example.org:8443/x"):
        origin.check_url(allowed)
    for refused in ("http://data.example.org:8080/x", "https://mirror.example.org/x", "http://example.org/x",
                    "file:///etc/passwd", "javascript:alert(1)", "http:///nohost"):
        with pytest.raises(RefusedUrl):
            origin.check_url(refused)
    with pytest.raises(RefusedUrl, match="leaves the source's origin https://secure.example.org"):
        SourceOrigin("https://secure.example.org/").check_url("http://secure.example.org/x")  # no downgrade


def test_allowed_hosts_is_an_option_of_every_backend_and_is_validated(cli: Cli) -> None:
    for backend in cli.json("backends"):
        assert "allowed_hosts" in [option["key"] for option in backend["extra_configs"]], backend["id"]
    bad = {"extra_configs": [{"key": "allowed_hosts", "value": "cdn.example.org, http://x/y"}]}
    result = cli("source", "add", "bad", "https://data.example.org/c.ttl", "--backend", "ckan", "--config",
                 json.dumps(bad), expect=2)
    assert "Extra config 'allowed_hosts': 'http://x/y' is not a host or host:port" in result.stderr


# --- file: only for the source URL itself, given on the command line -----------------------------------------


def test_a_catalog_file_named_on_the_command_line_is_harvested_but_its_links_stay_inside(
    cli: Cli, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.ttl"
    catalog.write_text(turtle("http://data.example.org/catalog.ttl", [0], next_url="file:///etc/passwd").body)
    job = cli.json("run", str(catalog), "--backend", "dcat", expect=1)
    assert job_errors(job) == ["Refused file:///etc/passwd: only http and https links are followed"]
    assert [item["status"] for item in job["items"]] == ["done"]
    assert_nothing_leaked(cli)


def test_a_source_file_that_never_ends_stops_at_the_size_cap(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_HTTP_MAX_BYTES", "1000000")
    job = cli.json("run", "file:///dev/zero", "--backend", "dcat", expect=1)
    assert job_errors(job) == ["file:///dev/zero sent more than 1,000,000 bytes (HARVEST_HTTP_MAX_BYTES)"]


def test_the_plain_client_follows_no_file_url() -> None:
    with pytest.raises(HttpError, match="No connection adapters were found for 'file:///etc/passwd'"):
        Http(retries=0).get("file:///etc/passwd")


# --- sources registered over the HTTP API ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/catalog.ttl", "http://localhost:{port}/catalog.ttl",
                                 "http://[::1]:{port}/catalog.ttl", "http://10.1.2.3/catalog.ttl",
                                 "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:{port}/",
                                 "http://192.168.1.1/", "http://[fd00::1]/"])
def test_the_api_refuses_sources_on_internal_addresses(
    api: ApiClient, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.delenv("HARVEST_ALLOW_PRIVATE_ADDRESSES")  # the `api` fixture sets it for the other API tests
    url = url.format(port=hostile_server.url.rsplit(":", 1)[1])
    created = api.send("POST", "/sources/", json={"name": "Internal", "url": url, "backend": "dcat"})
    assert created.status_code == 400, created.text
    assert "is an internal address; set HARVEST_ALLOW_PRIVATE_ADDRESSES=1" in created.json()["message"]
    assert hostile_server.requests == []


def test_the_api_refuses_file_urls_even_for_an_intranet(api: ApiClient) -> None:
    created = api.send("POST", "/sources/", json={"name": "Local", "url": "file:///etc/passwd", "backend": "dcat"})
    assert created.status_code == 400
    assert created.json()["message"] == "Invalid url 'file:///etc/passwd': expected an http(s) URL"


def test_the_api_accepts_internal_addresses_when_the_deployment_allows_them(
    api: ApiClient, hostile_server: HostileServer
) -> None:
    url = f"{hostile_server.url}/hydra/catalog.ttl"  # the `api` fixture sets HARVEST_ALLOW_PRIVATE_ADDRESSES=1
    assert api.send("POST", "/sources/", json={"name": "Intranet", "url": url, "backend": "dcat"}).status_code == 201


def test_the_command_line_registers_local_sources(store: Store) -> None:
    assert register_source(store, name="Demo", url="file:///srv/catalog.ttl", backend="dcat").url.startswith("file:")
    with pytest.raises(ConfigError, match="expected an http"):
        register_source(store, name="FTP", url="ftp://data.example.org/catalog.ttl", backend="dcat")


@pytest.mark.parametrize("url", ["file://", "file:catalog.ttl", "file:"])
def test_a_file_url_names_a_file_by_its_absolute_path(store: Store, url: str) -> None:
    with pytest.raises(ConfigError, match=f"^Invalid url '{url}': expected an http\\(s\\) URL or a file: URL with an "
                                          "absolute path$"):
        register_source(store, name="Nowhere", url=url, backend="dcat")


@pytest.mark.parametrize(("webhook", "problem"), [
    ("file:///tmp/hook", "expected an http(s) URL"), ("ftp://example.org/hook", "expected an http(s) URL"),
    ("http://127.0.0.1:9/hook", None),  # the command line may name an internal address, as for a catalog
])
def test_a_webhook_from_the_command_line_follows_the_url_rule_without_files(
        store: Store, webhook: str, problem: str | None) -> None:
    values = dict(name="Hooked", url="https://data.example.org/catalog.ttl", backend="dcat",
                  notifications={"webhook": webhook})
    if problem is None:
        assert register_source(store, **values).notifications.webhook == webhook
        return
    with pytest.raises(ConfigError) as refused:
        register_source(store, **values)
    assert str(refused.value) == f"Invalid notification webhook '{webhook}': {problem}"


# --- resource links ---------------------------------------------------------------------------------------------


def test_resources_with_non_web_links_are_left_out_with_a_warning(cli: Cli, hostile_server: HostileServer) -> None:
    job = cli.json("run", f"{hostile_server.url}/resources/catalog.ttl", "--backend", "dcat")
    [item] = job["items"]
    dataset = cli.json("datasets", "show", item["dataset"]["id"])
    assert [resource["url"] for resource in dataset["resources"]] == [f"{hostile_server.url}/files/0.csv"]
    warnings = [log["message"] for log in item["logs"] if log["level"] == "warning"]
    assert sorted(warnings) == sorted(
        f"Resource '{name}' left out: {url!r} is not a web link (http, https, ftp)"
        for name, url in [("script", SCRIPT_LINK), ("inline", DATA_LINK), ("local", "file:///etc/passwd")])


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)",
                                 "vbscript:msgbox", "data:,x", "file:///etc/passwd", "mailto:a@example.org"])
def test_every_mapping_loses_non_web_links(url: str) -> None:
    """Every backend's mapping returns a Mapped: the check lives there, once."""
    mapped = Mapped(dataset=Dataset(title="T", resources=[Resource(title="bad", url=url),
                                                          Resource(title="good", url="ftp://ftp.example.org/a.zip")]))
    assert [resource.title for resource in mapped.dataset.resources] == ["good"]
    assert len(mapped.warnings) == 1 and "bad" in mapped.warnings[0]


@pytest.mark.parametrize(("address", "internal"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("169.254.169.254", True), ("10.1.2.3", True),
    ("172.16.0.1", True), ("172.31.255.255", True), ("192.168.0.1", True), ("fc00::1", True), ("fd12:3456::1", True),
    ("0.0.0.0", True), ("::", True), ("::ffff:127.0.0.1", True), ("fe80::1%eth0", True),
    ("172.32.0.1", False), ("93.184.215.14", False), ("2606:2800:21f:cb07::1", False),
])
def test_internal_addresses(address: str, internal: bool) -> None:
    """The ranges a catalog's links may not reach (only classified here: nothing is contacted)."""
    assert is_internal_address(address) is internal
