"""Run the real udata API on mongomock (executed INSIDE the udata venv, see udata_portal.py).

Usage: python udata_app.py [--host 127.0.0.1] [--port 0] [--fs-root DIR]  (port 0 = any free port)
Prints one JSON line ``{"ready": true, "url": ..., "api_key": ..., ...}`` once listening.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import mongomock

LICENSES = [
    ("lov2", "Licence Ouverte / Open Licence version 2.0",
     "https://www.etalab.gouv.fr/licence-ouverte-open-licence"),
    ("odc-odbl", "Open Data Commons Open Database License (ODbL)",
     "http://opendatacommons.org/licenses/odbl/summary/"),
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    ("notspecified", "License Not Specified", None),
]


def make_settings(fs_root: str) -> type:
    """udata's Testing settings, overridden to run without MongoDB, Redis, Celery or Elasticsearch."""
    from udata.settings import Testing

    class Settings(Testing):
        MONGODB_SETTINGS = {"host": "mongodb://localhost/udata", "mongo_client_class": mongomock.MongoClient}
        SERVER_NAME = None
        CELERY_TASK_ALWAYS_EAGER = True  # (Testing already: tasks run inline, no broker)
        CELERY_TASK_EAGER_PROPAGATES = False  # like prod: a failing side task never fails the request
        DEFAULT_LANGUAGE = "en"  # English validation messages (Testing uses "fr")
        FS_ROOT = fs_root
        # Testing also gives: WTF_CSRF_ENABLED=False, NullCache, ELASTICSEARCH_URL=None, SEND_MAIL=False.

    return Settings


def _json_response(start_response: Callable, code: int, body: dict, headers: Iterable = ()) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Injected"
    start_response(f"{code} {reason}", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(data))), *headers])
    return [data]


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class FaultInjector:
    """WSGI middleware. ``POST /__faults__`` with ``{status, count, retry_after, methods}`` makes the
    next ``count`` matching ``/api/1/...`` requests answer ``status`` (+ ``Retry-After``) without
    reaching udata; ``DELETE /__faults__`` disarms. ``POST /__delay__`` with ``{seconds}`` holds every
    write to ``/api/1/...`` that long before udata sees it (a slow portal; ``0`` ends it). ``GET /__stats__``
    says how many writes came, when the first and the last arrived (monotonic seconds) and how many were
    in flight at most; ``DELETE /__stats__`` starts counting again."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.fault: dict[str, Any] | None = None
        self.delay = 0.0
        self.stats = self._fresh_stats()
        self.in_flight = 0

    @staticmethod
    def _fresh_stats() -> dict[str, Any]:
        return {"writes": 0, "first": None, "last": None, "max_in_flight": 0}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET").upper()
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if path == "/__delay__":
            with self.lock:
                self.delay = float(json.loads(environ["wsgi.input"].read(size) or b"{}").get("seconds", 0))
            return _json_response(start_response, 200, {"delay": self.delay})
        if path == "/__stats__":
            with self.lock:
                if method == "DELETE":
                    self.stats = self._fresh_stats()
                return _json_response(start_response, 200, self.stats)
        if path.startswith("/api/1/") and method in WRITE_METHODS:
            return self._write(environ, start_response, path, method, size)
        return self._serve(environ, start_response, path, method, size)

    def _write(self, environ: dict, start_response: Callable, path: str, method: str, size: int) -> Iterable[bytes]:
        """A write, counted, held for the delay, then served (its answer read while still in flight)."""
        now = time.monotonic()
        with self.lock:
            self.in_flight += 1
            stats = self.stats
            stats["writes"] += 1
            stats["first"] = stats["first"] if stats["first"] is not None else now
            stats["last"] = now
            stats["max_in_flight"] = max(stats["max_in_flight"], self.in_flight)
            delay = self.delay
        try:
            if delay:
                time.sleep(delay)
            answer = self._serve(environ, start_response, path, method, size)
            try:
                return list(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        finally:
            with self.lock:
                self.in_flight -= 1

    def _serve(self, environ: dict, start_response: Callable, path: str, method: str, size: int) -> Iterable[bytes]:
        if path == "/__faults__":
            with self.lock:
                if method == "POST":
                    spec = json.loads(environ["wsgi.input"].read(size) or b"{}")
                    self.fault = {
                        "status": int(spec["status"]),
                        "count": int(spec.get("count", 1)),
                        "retry_after": spec.get("retry_after"),
                        "methods": [m.upper() for m in spec.get("methods") or ("POST", "PUT")],
                    }
                elif method == "DELETE":
                    self.fault = None
                return _json_response(start_response, 200, {"fault": self.fault})
        if path.startswith("/api/1/"):
            with self.lock:
                fault = self.fault
                hit = fault is not None and fault["count"] > 0 and method in fault["methods"]
                if hit:
                    fault["count"] -= 1
            if hit:
                if size:
                    environ["wsgi.input"].read(size)  # drain: keeps keep-alive connections sane
                retry = fault["retry_after"]
                headers = [("Retry-After", str(retry))] if retry is not None else []
                body = {"message": "Injected fault", "status": fault["status"]}
                return _json_response(start_response, fault["status"], body, headers)
        return self.app(environ, start_response)


def seed(app: Any) -> dict[str, str]:
    """Create licenses, an active confirmed user, an org with that user as admin, and an API token."""
    from udata.core.dataset.models import License
    from udata.core.organization.models import Member, Organization
    from udata.core.user.models import User

    with app.app_context():
        for lid, title, url in LICENSES:
            License(id=lid, title=title, url=url, active=True).save()
        user = User(first_name="Harvest", last_name="Bot", email="harvester@example.org",
                    active=True, confirmed_at=datetime.now(UTC)).save()
        org = Organization(name="Test Organization", description="Seeded test organization",
                           members=[Member(user=user, role="admin")]).save()
        return {"api_key": create_token(user), "org_id": str(org.id), "org_slug": org.slug,
                "user_id": str(user.id)}


def create_token(user: Any) -> str:
    """Plain API key for ``user``: ``ApiToken.generate`` (udata 17+), else legacy ``user.apikey``."""
    try:
        from udata.core.api_token.models import ApiToken
    except ImportError:
        user.generate_api_key()
        user.save()
        return user.apikey
    _, plain = ApiToken.generate(user, name="harvester-tests")
    return plain


def exit_with_parent() -> None:
    """Daemon thread: exit when the parent (pytest) dies, so no orphan server lingers."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fs-root", help="udata file storage dir (default: a new temp dir)")
    args = parser.parse_args()
    exit_with_parent()

    from udata.app import create_app, standalone
    from werkzeug.serving import make_server

    fs_root = args.fs_root or tempfile.mkdtemp(prefix="udata-fs-")
    os.makedirs(fs_root, exist_ok=True)
    os.chdir(fs_root)  # create_app() reads ./udata.cfg if present: never pick up a stray one
    app = standalone(create_app(override=make_settings(fs_root)))
    info = seed(app)
    server = make_server(args.host, args.port, FaultInjector(app), threaded=True)
    print(json.dumps({"ready": True, "url": f"http://{args.host}:{server.server_port}", **info}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
