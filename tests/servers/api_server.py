"""The operator HTTP API served by a real uvicorn on 127.0.0.1 (a free port), in a thread of the test process.

`ApiClient` speaks to it over HTTP with httpx: `get` sends no key, `send` sends the admin key (or the one given).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from harvesters.api import PREFIX, create_app
from harvesters.apikeys import ApiKeys
from harvesters.store import Store

STARTUP_TIMEOUT = 15.0


class ApiServer:
    def __init__(self, store: Store) -> None:
        config = uvicorn.Config(create_app(store), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(STARTUP_TIMEOUT)


class ApiClient:
    def __init__(self, server_url: str, key: str) -> None:
        self.server_url = server_url
        self.url = server_url + PREFIX
        self.key = key
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """An anonymous GET."""
        return self.http.get(path, **kwargs)

    def send(self, method: str, path: str, key: str | None = "", **kwargs: Any) -> httpx.Response:
        """A request with the admin key; `key=None` sends none, another string sends that one."""
        key = self.key if key == "" else key
        headers = kwargs.pop("headers", {}) | ({"X-API-KEY": key} if key is not None else {})
        return self.http.request(method, path, headers=headers, **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def admin_key(store: Store, name: str = "tests") -> str:
    return ApiKeys(store).create(name)[1]
