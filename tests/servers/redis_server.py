"""A real `redis-server` (Debian's) on a free port of 127.0.0.1, in a temporary directory, without persistence;
stopped and started again on the same port by `restart` (a Redis restart mid-job)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server not found: `apt-get install redis-server` (make system-deps does it)")
        self.binary = binary
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="harvest-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def start(self) -> None:
        """Start redis-server on this server's port (again, after `stop`) and wait until it answers."""
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(self.directory / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        client = Redis.from_url(self.url, socket_timeout=1)
        while True:
            try:
                client.ping()
                return
            except RedisConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "log").read_text() if (self.directory / "log").exists() else ""
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop redis-server (what it held is lost: it keeps nothing on disk)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, down_for: float = 0) -> None:
        """Stop the server, leave it down `down_for` seconds, start it again on the same port, empty."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
