"""How bytes move under the HTTP client: every request bounded in time and size, every connection checked.

- A **deadline** per request (connect, headers and the whole body): when it passes, a watchdog shuts the
  request's sockets down, so a server trickling one byte a second (even in its headers) cannot hold a
  request longer than `total_timeout`.
- A **size cap** on every body, counted after decompression: bodies are decompressed here (gzip, deflate),
  never more than what was asked at a time, so a small gzip that inflates to gigabytes fails at the cap.
- The **address** of every connection, once its host is resolved, is checked against the source's origin
  rules (`harvesters.origin.SourceOrigin.addresses`) before connecting.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests_file import FileAdapter
from urllib3 import HTTPResponse, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError, ReadTimeoutError

from harvesters.origin import RefusedUrl, SourceOrigin

READ_SIZE = 1 << 16  # bytes read from the network at a time
ACCEPT_ENCODING = "gzip, deflate"  # only what BoundedBody decompresses


class HttpError(Exception):
    """A request failed; the message says which URL and why."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.response = response  # the error answer, for APIs that explain the error in its body


class Deadline:
    """The end of one request: past it, the watchdog shuts down the sockets the request uses (see `watch`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self.closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        WATCHDOG.add(self)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shut(sock)
            elif not self.closed:
                self._sockets.append(sock)

    def close(self) -> None:
        """The request is over: its sockets are no longer watched."""
        with self._lock:
            self.closed = True
            self._sockets.clear()

    def expire(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def error(self, url: str) -> HttpError:
        return HttpError(f"{url} did not answer in full within {self.seconds:g}s (HARVEST_HTTP_TOTAL_TIMEOUT)")


class Watchdog:
    """One thread expiring every request's deadline in turn (a thread per request would cost more than a
    small request). Closed deadlines are dropped as they come first."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # an RQ work horse starts with no thread and a free lock

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._deadlines: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._condition:
            heapq.heappush(self._deadlines, (deadline.end, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
                self._thread.start()
            self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._deadlines and self._deadlines[0][2].closed:
                    heapq.heappop(self._deadlines)
                if not self._deadlines:
                    self._condition.wait()
                    continue
                remaining = self._deadlines[0][0] - time.monotonic()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue
                heapq.heappop(self._deadlines)[2].expire()


WATCHDOG = Watchdog()


def _shut(sock: socket.socket) -> None:
    try:  # the plain socket's shutdown, also under TLS: it unblocks a read in another thread
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


_current_deadline: ContextVar[Deadline | None] = ContextVar("current_deadline", default=None)


def _watch(sock: socket.socket | None) -> None:
    if (deadline := _current_deadline.get()) is not None:
        deadline.watch(sock)


class BoundedBody:
    """A response body, decompressed here and read through a size cap: past `limit` bytes, reading fails.

    It stands for `requests.Response.raw` (requests then reads it with `read`); decompressing never yields
    more than was asked at once, so memory holds the cap, not what a bomb inflates to.
    """

    def __init__(self, raw: Any, url: str, limit: int, encoding: str = "", deadline: Deadline | None = None) -> None:
        self.raw = raw
        self.url = url
        self.limit = limit
        self.deadline = deadline
        self.encoding = encoding.strip().lower()
        self.decoder = _decoder(self.encoding)
        self.pending = b""  # compressed input the decoder has not consumed yet
        self.size = 0
        self.on_close: Callable[[], None] | None = None

    # what requests reads on `raw`
    @property
    def _original_response(self) -> Any:  # cookies are read from it
        return getattr(self.raw, "_original_response", None)

    @property
    def closed(self) -> bool:
        return bool(getattr(self.raw, "closed", False))

    def release_conn(self) -> None:
        if (release := getattr(self.raw, "release_conn", None)) is not None:
            release()

    def close(self) -> None:
        self.raw.close()
        if self.on_close is not None:
            self.on_close()

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        if amt is None:
            return b"".join(iter(lambda: self.read(READ_SIZE), b""))
        data = self._decoded(amt)
        if not data and self.on_close is not None:
            self.on_close()  # the whole body is read: its deadline is over
        self.size += len(data)
        if self.size > self.limit:
            self.close()
            raise HttpError(f"{self.url} sent more than {self.limit:,} bytes (HARVEST_HTTP_MAX_BYTES)"
                            + (", once decompressed" if self.decoder else ""))
        return data

    def _decoded(self, amt: int) -> bytes:
        if self.decoder is None:
            return self._read_raw(amt)
        while True:
            if not self.pending:
                self.pending = self._read_raw(READ_SIZE)
                if not self.pending:
                    return self.decoder.flush()
            try:
                data = self.decoder.decompress(self.pending, amt)
            except zlib.error as error:
                self.close()
                raise HttpError(f"{self.url} sent a body that does not decompress ({self.encoding}): {error}") from None
            self.pending = self.decoder.unconsumed_tail
            if self.decoder.eof and self.decoder.unused_data:  # another gzip member follows
                self.pending = self.decoder.unused_data
                self.decoder = _decoder(self.encoding)
            if data:
                return data

    def _read_raw(self, amt: int) -> bytes:
        try:
            if isinstance(self.raw, HTTPResponse):
                data = self.raw.read(amt, decode_content=False)
            else:  # a file
                data = self.raw.read(amt)
        except Exception as error:  # a network failure while reading (reset, timeout, the deadline's shutdown)
            self.close()
            if self.deadline is not None and self.deadline.expired:
                raise self.deadline.error(self.url) from None
            if isinstance(error, ReadTimeoutError):
                raise HttpError(f"Timed out waiting for the rest of {self.url}") from None
            raise HttpError(f"Reading {self.url} failed: {error}") from None
        if not data and self.deadline is not None and self.deadline.expired:
            raise self.deadline.error(self.url)  # a body cut by the deadline is not a complete body
        return data


def _decoder(encoding: str) -> Any:
    """A decompressor for what ACCEPT_ENCODING asks; None for anything else (passed through as requests does)."""
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (what the standard names deflate)
    return None


class _CheckedConnection:
    """A connection that checks the addresses of its host against a source's origin rules before connecting,
    and whose sockets the current request's deadline watches."""

    origin: SourceOrigin | None
    host: str
    port: int
    _dns_host: str
    sock: socket.socket | None

    def __init__(self, *args: Any, origin: SourceOrigin | None = None, **kwargs: Any) -> None:
        self.origin = origin
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        if self.origin is None:
            sock = super()._new_conn()  # type: ignore[misc]
            _watch(sock)
            return sock
        try:
            addresses = self.origin.addresses(host.strip("[]"), self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]
        except RefusedUrl as refused:
            raise HttpError(str(refused)) from None
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = address  # connect to the address checked, not to a second resolution
            try:
                sock = super()._new_conn()  # type: ignore[misc]
            except (NewConnectionError, ConnectTimeoutError) as error:
                failure = error
                continue
            finally:
                self._dns_host = host
            _watch(sock)
            return sock
        assert failure is not None
        raise failure

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch(self.sock)  # under TLS, the socket now is the TLS one

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection, reused by this request
        super().request(*args, **kwargs)  # type: ignore[misc]


class CheckedHTTPConnection(_CheckedConnection, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass


CHECKED_CONNECTIONS: dict[str, type[HTTPConnection]] = {"http": CheckedHTTPConnection,
                                                       "https": CheckedHTTPSConnection}


class CheckedPoolManager(PoolManager):
    def __init__(self, *args: Any, origin: SourceOrigin | None = None, **kwargs: Any) -> None:
        self.origin = origin
        super().__init__(*args, **kwargs)

    def _new_pool(self, scheme: str, host: str, port: int,
                  request_context: dict[str, Any] | None = None) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = CHECKED_CONNECTIONS[scheme]
        pool.conn_kw["origin"] = self.origin
        return pool


class BoundedAdapter(HTTPAdapter):
    """requests' adapter on checked connections, with bodies read through BoundedBody."""

    def __init__(self, max_bytes: int, origin: SourceOrigin | None = None) -> None:
        self.max_bytes = max_bytes
        self.origin = origin
        super().__init__(max_retries=0)  # the client retries itself (harvesters.http.Http.request)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = CheckedPoolManager(num_pools=connections, maxsize=maxsize, block=block,
                                              origin=self.origin, **pool_kwargs)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.raw = BoundedBody(resp, response.url, self.max_bytes, response.headers.get("Content-Encoding", ""),
                                   _current_deadline.get())
        return response


class BoundedFileAdapter(FileAdapter):
    """`file:` URLs (a source's own catalog file), read through the size cap (`file:///dev/zero` ends there)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        response.raw = BoundedBody(response.raw, request.url or "", self.max_bytes)
        return response


class BoundedSession(requests.Session):
    """A requests session whose every request (redirects included) has a total deadline and bounded bodies; with
    an origin, its redirects and connections follow the source's origin rules."""

    def __init__(self, total_timeout: float, max_bytes: int, origin: SourceOrigin | None = None) -> None:
        super().__init__()
        self.total_timeout = total_timeout
        self.origin = origin
        self.max_redirects = 10
        self.headers["Accept-Encoding"] = ACCEPT_ENCODING
        adapter = BoundedAdapter(max_bytes, origin)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        if origin is not None and origin.url.lower().startswith("file:"):
            self.mount("file://", BoundedFileAdapter(max_bytes))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        with self.deadline(str(url)) as deadline:
            response = super().request(method, url, *args, **kwargs)
        if kwargs.get("stream") and isinstance(response.raw, BoundedBody):
            response.raw.on_close = deadline.close  # the body is read later: the deadline runs until then
        else:
            deadline.close()
        return response

    @contextmanager
    def deadline(self, url: str) -> Iterator[Deadline]:
        deadline = Deadline(self.total_timeout)
        token = _current_deadline.set(deadline)
        try:
            yield deadline
        except HttpError:
            deadline.close()
            raise
        except Exception:
            deadline.close()
            if deadline.expired:
                raise deadline.error(url) from None
            raise
        finally:
            _current_deadline.reset(token)

    def get_redirect_target(self, response: requests.Response) -> str | None:
        """requests' next hop, checked against the source's origin rules first."""
        target = super().get_redirect_target(response)
        if target and self.origin is not None:
            location = requests.compat.urljoin(response.url, target)
            try:
                self.origin.check_url(location, redirected_from=response.url)
            except RefusedUrl as refused:
                response.close()
                raise HttpError(str(refused), status=response.status_code) from None
        return target
