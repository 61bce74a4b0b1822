"""Run the REAL udata API (PyPI ``udata``, on mongomock) as a local test server.

``ensure_udata_venv()`` builds ``<repo>/.cache/venvs/udata`` once (pinned, see ``UDATA_LOCK``);
``UdataPortal`` starts ``udata_app.py`` in it on 127.0.0.1 and exposes the seeded credentials.

Facts about the udata 17.18 API, verified by tests/test_udata_portal_server.py:
- Archiving: PUT /api/1/datasets/{id}/ with ``"archived": "<ISO datetime>"`` (no dedicated
  endpoint); ``"archived": null`` un-archives. An archived dataset stays readable by id (even
  anonymously) and stays in /organizations/{org}/datasets/; it leaves the public /datasets/ list.
- Extras: ``harvest:*`` keys are accepted as-is on POST and PUT. PUT *replaces* the extras dict
  (keys not sent are dropped); only reserved keys (``transport:*``, ``recommendations*``,
  ``dcat``) are silently ignored for non-admins. The top-level ``harvest`` object is read-only
  (silently ignored when sent).
- Resources on PUT: a ``resources`` list replaces the whole list. An entry whose ``id`` is an
  existing resource of the dataset keeps that id (fields are updated, unsent fields kept); an
  entry without ``id`` gets a new server-generated UUID; a well-formed UUID that is not one of
  the dataset's resources is ignored and a new id is generated (no client-chosen ids); a
  malformed id is a 400. Omitting the ``resources`` key leaves resources untouched.
- PUT is not a true partial update: omitting ``tags`` clears them (send the full payload).
  Title changes re-slug the dataset. ``description`` is required (POST and PUT), ``title`` too.
- Tags are slugified (``"Bee Tag"`` -> ``"bee-tag"``) and must be 3..96 chars, else 400.
- An unknown ``license`` id is NOT rejected: it silently becomes ``notspecified``.
- ``?q=`` full-text search on /datasets/ answers 500 on mongomock ($text unsupported).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import requests

from tests.servers.venvs import ensure_venv, venv_python

APP_SCRIPT = Path(__file__).with_name("udata_app.py")

# Full lock of the udata venv (``pip freeze`` of a working install on CPython 3.11).
UDATA_REQUIREMENTS = ("udata==17.18.0", "mongomock==4.3.0")
UDATA_LOCK = """
amqp==5.4.2 aniso8601==10.0.1 attrs==26.1.0 Authlib==1.9.10 awesome-slugify==1.6.5 babel==2.19.0
bcrypt==4.3.0 beautifulsoup4==4.15.0 billiard==4.3.2 bleach==6.4.0 blinker==1.9.0 boto3==1.44.8
botocore==1.44.8 cachelib==0.17.0 celery==5.7.0 certifi==2026.10.19.post1 cffi==2.1.1
charset-normalizer==3.5.3 click==8.5.1 click-didyoumean==0.3.1 click-plugins==1.1.1.2
click-repl==0.4.1 cryptography==50.0.2 dnspython==2.9.2 elasticsearch==7.17.13
elasticsearch-dsl==7.4.1 email-validator==2.4.0 factory_boy==3.3.3 Faker==40.63.0
feedgenerator==2.2.1 filelock==4.3.1 Flask==3.1.3 flask-babel==4.0.0 Flask-Caching==2.5.1
Flask-Gravatar==0.5.0 Flask-Login==0.6.3 Flask-Mail==0.10.0 Flask-Principal==0.4.0
flask-restx==1.3.2 Flask-Security==5.9.2 flask-storage==2.1.1 Flask-WTF==1.3.0 geojson==3.3.0
geomet==1.1.0 html2text==2025.4.15 humanfriendly==10.0 idna==3.20 importlib_resources==7.1.0
itsdangerous==2.2.0 Jinja2==3.1.6 jmespath==1.1.0 joserfc==1.8.0 jsonschema==4.26.0
jsonschema-specifications==2025.9.1 kombu==5.7.0 langdetect==1.0.9 Levenshtein==0.27.5
libpass==1.9.4 lxml==6.1.3 Markdown==3.11.3 MarkupSafe==3.0.4 mistune==3.4.0 mongoengine==0.29.3
mongomock==4.3.0 netaddr==1.3.0 packaging==26.3 pillow==12.3.0 platformdirs==4.14.8
prompt_toolkit==3.0.53 pycparser==3.12 pydenticon==0.3.1 pymongo==4.20.1 pyparsing==3.3.3
pyproj==3.7.2 python-dateutil==2.9.0.post0 pytz==2026.6 qrcode==8.2 RapidFuzz==3.14.6
rdflib==7.6.0 redis==7.4.1 referencing==0.37.0 regex==2026.11.19 requests==2.34.2
rpds-py==2026.9.1 s3transfer==0.19.3 saxonche==12.10.1 sentinels==1.1.1 sentry-sdk==2.75.0
six==1.17.0 soupsieve==4.1.3 speaklater==1.3 tinycss2==1.5.1 tlds==2026102900
typing_extensions==4.16.0 tzdata==2026.6 tzlocal==5.4.5 udata==17.18.0 Unidecode==0.4.21
uritools==6.1.5 urlextract==1.10.0 urllib3==2.8.0 vine==5.1.0 voluptuous==0.16.0 wcwidth==0.9.4
webencodings==0.6.1 Werkzeug==3.1.9 WTForms==3.3.2 WTForms-JSON==0.3.5
""".split()

READY_TIMEOUT = 120.0  # seconds; udata imports + seeding take ~5-10 s on 2 cores
HTTP_TIMEOUT = 10.0


def ensure_udata_venv() -> Path:
    """The pinned udata + mongomock virtualenv, created once."""
    return ensure_venv("udata", UDATA_REQUIREMENTS, constraints=UDATA_LOCK, check="udata.app, mongomock")


@dataclass(frozen=True)
class WriteStats:
    """Writes to /api/1/ the server saw: how many, when the first and the last arrived (its monotonic clock),
    and how many were in flight at once at most."""

    writes: int
    first: float | None
    last: float | None
    max_in_flight: int

    @property
    def per_second(self) -> float:
        """Writes per second between the first and the last (each write starts an interval but the last)."""
        if self.writes < 2 or self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.writes - 1) / (self.last - self.first)


class UdataPortal:
    """A real udata API server (subprocess) on 127.0.0.1 with a seeded user, org and licenses."""

    url: str
    api_key: str
    org_id: str
    org_slug: str
    user_id: str

    def __init__(self, ready_timeout: float = READY_TIMEOUT) -> None:
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None

    def __enter__(self) -> UdataPortal:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _stderr_tail(self, lines: int = 40) -> str:
        path = self._tmp / "stderr.log" if self._tmp else None
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> UdataPortal:
        """Start the server and wait (bounded) for its ready line."""
        if self._proc is not None:
            return self
        python = venv_python(ensure_udata_venv())
        self._tmp = Path(tempfile.mkdtemp(prefix="udata-portal-"))
        out_path, err_path = self._tmp / "stdout.log", self._tmp / "stderr.log"
        env = {k: v for k, v in os.environ.items() if k not in ("UDATA_SETTINGS", "PYTHONPATH", "PYTHONHOME")}
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            cmd = [str(python), str(APP_SCRIPT), "--host", "127.0.0.1", "--port", "0",
                   "--fs-root", str(self._tmp / "fs")]
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                          cwd=self._tmp, env=env)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            for line in out_path.read_text(errors="replace").splitlines():
                try:
                    info = json.loads(line)
                except ValueError:
                    continue
                if isinstance(info, dict) and info.get("ready"):
                    for key in ("url", "api_key", "org_id", "org_slug", "user_id"):
                        setattr(self, key, info[key])
                    return self
            if self._proc.poll() is not None:
                code, tail = self._proc.returncode, self._stderr_tail()
                self.stop()
                raise RuntimeError(f"udata_app.py exited with {code} before ready:\n{tail}")
            time.sleep(0.1)
        tail = self._stderr_tail()
        self.stop()
        raise TimeoutError(f"udata_app.py not ready after {self.ready_timeout:.0f}s:\n{tail}")

    def stop(self) -> None:
        """Terminate the server (idempotent) and remove its temp dir."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def new_organization(self, name: str = "Test Organization") -> str:
        """A new organization whose admin is the seeded user; its id."""
        response = requests.post(f"{self.url}/api/1/organizations/", json={"name": name, "description": name},
                                 headers={"X-API-KEY": self.api_key}, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()["id"]

    def set_faults(self, status: int, count: int, retry_after: int | None = None,
                   methods: Iterable[str] = ("POST", "PUT")) -> None:
        """Answer the next ``count`` ``/api/1/...`` requests with ``methods`` by ``status``."""
        body = {"status": status, "count": count, "retry_after": retry_after, "methods": list(methods)}
        requests.post(f"{self.url}/__faults__", json=body, timeout=HTTP_TIMEOUT).raise_for_status()

    def clear_faults(self) -> None:
        """Disarm any pending injected fault, and any delay."""
        requests.delete(f"{self.url}/__faults__", timeout=HTTP_TIMEOUT).raise_for_status()
        self.set_delay(0)

    def set_delay(self, seconds: float) -> None:
        """Hold every write to /api/1/ this long before udata sees it (a slow portal)."""
        requests.post(f"{self.url}/__delay__", json={"seconds": seconds}, timeout=HTTP_TIMEOUT).raise_for_status()

    def write_stats(self, reset: bool = False) -> WriteStats:
        """The writes that came since the last reset (then reset them, with `reset`)."""
        method = requests.delete if reset else requests.get
        answer = method(f"{self.url}/__stats__", timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        return WriteStats(**answer.json())
