"""A real HTTP server on 127.0.0.1 that replays fixture catalogs, with injectable faults.

Tests declare routes (path, with an optional query string) answering with a fixture file or a
body, a content type, a status, headers and a delay, or with bytes streamed as they are made (a
slow or endless answer; `raw`: status line and headers included). Every request is recorded, so a test can
assert exactly which requests a backend made. `rewrite` replaces a host named in the fixtures
(e.g. http://data.test.org) with this server's own address, so links between pages work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.shared import fixture_path


@dataclass
class Reply:
    body: bytes | str | Path | Callable[[Request], bytes | str] = b""
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stream: Iterable[bytes] | None = None  # sent as it comes instead of `body`, then the connection closes
    raw: bool = False  # `stream` is the whole answer, its status line and headers included


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received: float = field(default_factory=time.monotonic)  # when, on the monotonic clock

    @property
    def target(self) -> str:
        return self.path + ("?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else "")


class CatalogServer:
    def __init__(self, rewrite: dict[str, str] | None = None) -> None:
        self.routes: dict[str, Reply] = {}
        self.handlers: dict[str, Callable[[Request], Reply]] = {}
        self.requests: list[Request] = []
        self.rewrite_hosts = rewrite or {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CatalogServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(self, target: str, body: bytes | str | Path | Callable[[Request], bytes | str] = b"",
              content_type: str = "application/octet-stream", **options: Any) -> str:
        """Answer GET/POST `target` (path, optionally with its query) with this reply; return its URL."""
        self.routes[target] = Reply(body=body, content_type=content_type, **options)
        return self.url + target

    def serve_fixture(self, target: str, fixture: str, content_type: str, **options: Any) -> str:
        return self.serve(target, fixture_path(fixture), content_type, **options)

    def handle(self, path: str, handler: Callable[[Request], Reply]) -> str:
        """Answer every request to `path` (any query) with what `handler` returns."""
        self.handlers[path] = handler
        return self.url + path

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def reply_for(self, request: Request) -> Reply:
        if request.target in self.routes:
            return self.routes[request.target]
        if request.path in self.handlers:
            return self.handlers[request.path](request)
        if request.path in self.routes:
            return self.routes[request.path]
        return Reply(f"No route for {request.target}", "text/plain", status=404)

    def render(self, reply: Reply, request: Request) -> bytes:
        body = reply.body(request) if callable(reply.body) else reply.body
        if isinstance(body, Path):
            body = body.read_bytes()
        if isinstance(body, str):
            body = body.encode()
        for host, replacement in self.rewrite_hosts.items():
            body = body.replace(host.encode(), replacement.replace("{url}", self.url).encode())
        return body


def _handler(server: CatalogServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body leave in one write (unbuffered, delayed ACKs cost 40 ms a request)

        def handle(self) -> None:
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout, a deadline, a size cap)

        def finish(self) -> None:
            try:
                super().finish()
            except (BrokenPipeError, ConnectionResetError):
                pass  # what was left in the buffer has nobody to go to

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.answer()

        def do_POST(self) -> None:  # noqa: N802
            self.answer()

        def answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                              dict(self.headers), self.rfile.read(length) if length else b"")
            server.requests.append(request)
            reply = server.reply_for(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.stream is not None:
                return self.stream(reply)
            body = server.render(reply, request)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def stream(self, reply: Reply) -> None:
            self.close_connection = True
            if not reply.raw:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in {**reply.headers, "Connection": "close"}.items():
                    self.send_header(name, value)
                self.end_headers()
            for chunk in reply.stream or ():
                self.wfile.write(chunk)
                self.wfile.flush()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
