"""A real PostgreSQL server (Debian's) on a free port of 127.0.0.1, in a temporary data directory.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does) the server runs as the
`postgres` system user (or `nobody` when there is none), owning the temporary directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from tests.servers.redis_server import free_port

START_TIMEOUT = 60.0
# fast and throwaway; a time zone other than UTC, as many servers have, so the store must not depend on it
SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200",
            "timezone=Europe/Paris")


def server_binaries() -> Path:
    """The bin directory of the newest installed PostgreSQL (15 on Debian bookworm)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL server not found: `apt-get install postgresql` (make system-deps does it)")
    return found[-1].parent


def unprivileged_user() -> pwd.struct_passwd | None:
    """The account to run the server as: None when not root, else `postgres` or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


class PostgresServer:
    def __init__(self) -> None:
        self.bin = server_binaries()
        self.user = unprivileged_user()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="harvest-pg-"))
        self.data = self.directory / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self._counter = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def __enter__(self) -> PostgresServer:
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.directory)}
        init = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            cwd=self.directory, env=env, capture_output=True, text=True, timeout=120, **self._as_user(),
        )
        if init.returncode != 0:
            self.__exit__(None, None, None)
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        log = open(self.directory / "server.log", "wb")  # noqa: SIM115 - the server writes it until stopped
        settings = [arg for setting in SETTINGS for arg in ("-c", setting)]
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.directory), *settings],
            cwd=self.directory, env=env, stdout=log, stderr=subprocess.STDOUT, **self._as_user(),
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "server.log").read_text(errors="replace")
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{log}") from None
                time.sleep(0.1)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self) -> str:
        """A new empty database; return its SQLAlchemy URL."""
        self._counter += 1
        name = f"test_{os.getpid()}_{self._counter}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
