"""`harvest serve --workers N`: every process takes its share of the connections (one socket each on the port),
a process takes none before it can answer (nor one that died: its replacement listens anew), stopping the
server stops them all, and a port already taken is one line of error."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harvesters.serving import START_SECONDS
from tests.servers.console import HarvestServe, free_port
from tests.servers.workers import children, listening_sockets, wait_for

pytestmark = pytest.mark.servers

CONNECTIONS = 20  # all on one of two processes by chance: 2 in a million


def open_sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


def server_processes(pid: int) -> list[int]:
    """The processes `harvest serve` started to serve (not multiprocessing's resource tracker)."""
    return [child for child in children(pid) if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_connections_are_spread_over_every_process_and_stopping_stops_them_all(tmp_path: Path) -> None:
    with HarvestServe(tmp_path / "serve.log", processes=2,
                      database_url=f"sqlite:///{tmp_path / 'store.db'}") as server:
        assert server.process is not None
        processes = server_processes(server.process.pid)
        before = {pid: open_sockets(pid) for pid in processes}
        connections = []
        for _ in range(CONNECTIONS):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().read()
            connections.append(connection)  # kept open: the process that accepted it holds its socket
        serving = [pid for pid in processes if open_sockets(pid) > before[pid]]
        assert len(serving) == 2, f"connections per process: {[open_sockets(pid) - before[pid] for pid in processes]}"
        for connection in connections:
            connection.close()
    wait_for(lambda: not [pid for pid in processes if Path(f"/proc/{pid}").exists()], timeout=15,
             what="every server process to end with the server")


def test_a_process_listens_only_while_it_can_answer(tmp_path: Path) -> None:
    """A dead process's socket stops taking connections at once; its replacement listens once it has started,
    and meanwhile every request is answered by the process left."""
    with HarvestServe(tmp_path / "serve.log", processes=2,
                      database_url=f"sqlite:///{tmp_path / 'store.db'}") as server:
        assert server.process is not None and listening_sockets(server.port) == 2
        dead, left = server_processes(server.process.pid)
        time.sleep(START_SECONDS)  # older than this, a process that dies is replaced (sooner, it failed to start)
        os.kill(dead, signal.SIGKILL)
        wait_for(lambda: listening_sockets(server.port) == 1, timeout=10, what="the dead process's socket closed")
        for _ in range(CONNECTIONS):  # none of them queued for a process that is not there
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()
        wait_for(lambda: listening_sockets(server.port) == 2, timeout=30, what="the replacement to listen")
        assert left in server_processes(server.process.pid) and dead not in server_processes(server.process.pid)


def test_a_port_already_taken_is_one_line_of_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        finished = subprocess.run([sys.executable, "-m", "harvesters", "serve", "--port", str(port), "--workers", "2"],
                                  env=os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"},
                                  capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert finished.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in finished.stderr
