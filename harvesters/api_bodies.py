"""Request bodies of the HTTP API, bounded: a write is authenticated before its body is read, and a body is read up
to a size (HARVEST_API_MAX_BODY_BYTES), 413 beyond, counted as it arrives (a Content-Length announcing more is
refused at once). A pure ASGI middleware, in front of FastAPI, which would otherwise read a whole body before any
dependency (the key's check) runs.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Refuse = Callable[[int, str], Response]


class BoundedBodies:
    """`authenticate(headers)` (run in a thread: it reads the store) answers a write under `keyed` (the API's
    prefix; the console's forms go by its session instead) refused (no key, a wrong one) with a response, or None;
    `refuse(status, message)` makes the error response of this API. Every body is bounded."""

    def __init__(self, app: ASGIApp, max_bytes: int, keyed: str, authenticate: Callable[[Headers], Response | None],
                 refuse: Refuse) -> None:
        self.app = app
        self.keyed = keyed
        self.max_bytes = max_bytes
        self.authenticate = authenticate
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        if (scope["method"] in WRITES and scope["path"].startswith(self.keyed)
                and (refused := await run_in_threadpool(self.authenticate, headers))):
            return await refused(scope, receive, send)
        if not _has_body(headers):
            return await self.app(scope, receive, send)
        announced = headers.get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            return await self.too_large(scope, receive, send, f"announces {int(announced)} bytes")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self.too_large(scope, receive, send, f"holds more than {self.max_bytes} bytes")
        return await self.app(scope, _replay(bytes(body), receive), send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        response = self.refuse(413, f"Request body too large: it {what}, at most {self.max_bytes} are read "
                                    "(HARVEST_API_MAX_BODY_BYTES)")
        response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read, handed to the application as one message; then what the client sends next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
