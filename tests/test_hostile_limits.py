"""Bounded time and memory: a total deadline per request, a body cap after decompression, Retry-After capped.

The hostile server trickles, inflates and stalls; each request must end at its bound with a message naming
the URL and the setting. (How long and how much memory each case takes is measured by
benchmarks/hostile_benchmark.py, not here.)
"""

from __future__ import annotations

import gzip
import zlib

import pytest

from harvesters.http import Http, HttpError
from tests.helpers import Cli, job_errors
from tests.servers.catalog import CatalogServer
from tests.servers.hostile import HostileServer, turtle


@pytest.mark.parametrize("phase", ["body", "headers"])
def test_a_server_trickling_bytes_fails_the_request_at_the_total_deadline(
    cli: Cli, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    """Two bytes a second always beat the read timeout; only the total deadline ends the request."""
    monkeypatch.setenv("HARVEST_HTTP_TOTAL_TIMEOUT", "2")
    url = f"{hostile_server.url}/slow?bytes_per_second=2&seconds=60&phase={phase}"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"{url} did not answer in full within 2s (HARVEST_HTTP_TOTAL_TIMEOUT)"]
    assert hostile_server.sent["/slow"] < 2 * 30  # the client went away long before the server's minute


def test_the_deadline_holds_for_a_streamed_body(hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/slow?bytes_per_second=4&seconds=60"
    with Http(total_timeout=1, retries=0).get(url, stream=True) as response:
        with pytest.raises(HttpError, match=r"did not answer in full within 1s \(HARVEST_HTTP_TOTAL_TIMEOUT\)"):
            for _ in response.iter_content(1024):
                pass


@pytest.mark.parametrize(("path", "cap", "counted", "streamed_below"), [
    ("/big?size=50000000", "1000000", "", 50_000_000),
    ("/gzip-bomb?size=2000000000", "10000000", ", once decompressed", 200_000),  # 2 GB inflate from about 2 MB
])
def test_a_body_past_the_size_cap_fails_the_job(
    cli: Cli, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch, path: str, cap: str, counted: str,
    streamed_below: int,
) -> None:
    monkeypatch.setenv("HARVEST_HTTP_MAX_BYTES", cap)
    url = hostile_server.url + path
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"{url} sent more than {int(cap):,} bytes (HARVEST_HTTP_MAX_BYTES){counted}"]
    assert hostile_server.sent[path.split("?")[0]] < streamed_below  # the client stopped reading at the cap


@pytest.mark.parametrize(("encoding", "compress"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("gzip", lambda data: gzip.compress(data[:500]) + gzip.compress(data[500:])),  # two gzip members
])
def test_compressed_catalogs_are_read_in_full(
    cli: Cli, catalog_server: CatalogServer, encoding: str, compress: object
) -> None:
    body = turtle(catalog_server.url + "/catalog.ttl", list(range(20))).body.encode()
    url = catalog_server.serve("/catalog.ttl", compress(body), "text/turtle",  # type: ignore[operator]
                               headers={"Content-Encoding": encoding})
    job = cli.json("run", url, "--backend", "dcat")
    assert len(job["items"]) == 20
    assert catalog_server.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_a_retry_after_beyond_the_cap_fails_at_once_naming_the_wait(
    cli: Cli, hostile_server: HostileServer
) -> None:
    url = f"{hostile_server.url}/retry-after?seconds=3600"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [f"HTTP 503 from {url} asks to retry after 3600s (Retry-After), longer than the 120s "
                           "allowed (HARVEST_HTTP_RETRY_AFTER_MAX): not waiting"]
    assert len(hostile_server.requests_to("/retry-after")) == 1


@pytest.mark.parametrize("status", [503, 429])
def test_a_short_retry_after_is_honoured(cli: Cli, hostile_server: HostileServer, status: int) -> None:
    url = f"{hostile_server.url}/retry-after?seconds=1&times=1&status={status}"
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    assert len(job["items"]) == 2
    first, second = hostile_server.requests_to("/retry-after")
    assert second.received - first.received >= 0.9  # it waited what was asked


@pytest.mark.parametrize("fault", ["drop", "503"])
def test_a_catalog_failing_twice_is_harvested_on_the_third_attempt_after_a_backoff(
    cli: Cli, hostile_server: HostileServer, fault: str
) -> None:
    url = f"{hostile_server.url}/flaky?fault={fault}&times=2"
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done" and len(job["items"]) == 2
    first, second, third = hostile_server.requests_to("/flaky")
    assert third.received - second.received >= 0.9  # the second retry waits 2 * BACKOFF (the first goes at once)


@pytest.mark.parametrize(("fault", "message"), [("drop", "Unable to reach"), ("503", "HTTP 503 Service Unavailable")])
def test_a_catalog_failing_past_the_retries_fails_the_request_and_a_post_is_never_retried(
    hostile_server: HostileServer, fault: str, message: str
) -> None:
    url = f"{hostile_server.url}/flaky?fault={fault}&times=10"
    with pytest.raises(HttpError, match=f"^{message}"):
        Http(retries=1).get(url)
    assert len(hostile_server.requests_to("/flaky")) == 2
    with pytest.raises(HttpError, match=f"^{message}"):
        Http(retries=1).post(url)
    assert len(hostile_server.requests_to("/flaky")) == 3


def test_a_long_retry_after_with_no_retry_left_fails_with_the_answer(hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/retry-after?seconds=3600"
    with pytest.raises(HttpError, match=r"^HTTP 503 Service Unavailable from .*/retry-after") as failed:
        Http(retries=0).get(url)
    assert failed.value.response is not None and failed.value.response.text == "Busy"
