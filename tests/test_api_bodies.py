"""Request bodies of the HTTP API are bounded (harvesters/api_bodies.py): a write without a valid key is refused
before its body is read, a body past HARVEST_API_MAX_BODY_BYTES gets 413 while it is read, and a source's text
fields have bounds a 400 names. Spoken over raw sockets to the real uvicorn, to send only part of a body."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from harvesters.api import PREFIX
from tests.helpers import Cli
from tests.servers.api_server import ApiClient

CHUNK = 64 * 1024


def connect(api: ApiClient) -> socket.socket:
    address = urlsplit(api.server_url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def head(method: str, path: str, key: str | None, *extra: str) -> bytes:
    lines = [f"{method} {PREFIX}{path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *extra]
    if key is not None:
        lines.append(f"X-API-KEY: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of the server's answer (read until it closes or the JSON body is complete)."""
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_a_huge_body_without_a_key_is_refused_before_it_is_read(api: ApiClient) -> None:
    with connect(api) as sock:
        sock.sendall(head("POST", "/sources/", None, "Content-Length: 300000000") + b'{"name": "')
        started = time.monotonic()
        status, body = answer(sock)  # 299,999,990 bytes never sent: the answer cannot have waited for them
    assert status == 401 and b"needs an API key" in body
    assert time.monotonic() - started < 10
    with connect(api) as sock:
        sock.sendall(head("PUT", "/source/any/", "hvk_wrong", "Content-Length: 300000000") + b"{")
        assert answer(sock)[0] == 403


def test_a_body_announced_too_large_is_refused_at_once(api: ApiClient) -> None:
    with connect(api) as sock:
        sock.sendall(head("POST", "/sources/", api.key, "Content-Length: 2000000") + b"{")
        status, body = answer(sock)
    assert status == 413
    assert b"Request body too large: it announces 2000000 bytes, at most 1000000 are read" in body


def test_a_streamed_body_is_cut_once_past_the_limit(api: ApiClient) -> None:
    sent = 0
    with connect(api) as sock:
        sock.sendall(head("POST", "/sources/", api.key, "Transfer-Encoding: chunked"))
        sock.settimeout(0.05)
        status = None
        while sent < 50 * 1_000_000 and status is None:  # bounded: 50 MB at most
            sock.sendall(f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n")
            sent += CHUNK
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    sock.settimeout(10)
                    status, body = answer(sock)
            except TimeoutError:
                continue
    assert status == 413 and b"holds more than 1000000 bytes" in body
    assert sent < 4_000_000  # the server stopped reading soon after its limit


@pytest.mark.parametrize(("field", "length", "most"), [("description", 10_001, 10_000), ("name", 256, 255),
                                                       ("url", 2100, 2048)])
def test_text_fields_are_bounded_with_a_400_naming_the_field(api: ApiClient, field: str, length: int,
                                                             most: int) -> None:
    source = {"name": "Région", "url": "https://data.example.org/catalog.ttl", "backend": "dcat"}
    value = "https://data.example.org/" + "a" * length if field == "url" else "a" * length
    refused = api.send("POST", "/sources/", json=source | {field: value})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {field: [f"String should have at most {most} characters"]}
    assert api.send("POST", "/sources/", json=source | {"description": "a" * 10_000}).status_code == 201


def test_the_cli_holds_text_fields_to_the_same_bounds(cli: Cli) -> None:
    refused = cli("source", "add", "Région", "https://data.example.org/catalog.ttl", "--backend", "dcat",
                  "--description", "a" * 10_001, expect=2)
    *_, error = refused.output.strip().splitlines()  # (a first command on a new store says so first)
    assert error == "Error: Invalid description: 10001 characters, at most 10000 allowed"
