"""`harvest serve --workers N`: N server processes, each accepting on its own socket bound to the one port with
SO_REUSEPORT, so that the kernel spreads the connections evenly over them.

With one shared listening socket (uvicorn's own `workers=`), the process that wakes first accepts every connection
waiting: 50 clients connecting at once all landed on one process, which then served them on one core while the
other stayed idle. The sockets are bound here, before any process starts, so a port in use is one clear error; each
process listens on its socket only once its app is loaded, so that no connection waits in the queue of a process
still starting (or of one that died: its replacement gets a new socket).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

STOP_SECONDS = 10  # how long a process has to finish its requests once told to stop, before it is killed
FAST: dict[str, Any] = {"http": "httptools", "loop": "uvloop"}  # C parsers and event loop, for answers per second
START_SECONDS = 5  # a process that ends sooner than this after its start failed to start: it is not replaced


def bound_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to host:port, sharing the port (OSError when it is taken); not listening yet: the
    process serving each one listens once it can answer (uvicorn does, as it starts serving)."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                            flags=socket.AI_PASSIVE)[0]
    bound = []
    for _ in range(count):
        each = socket.socket(family, kind, protocol)
        each.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        each.bind(address)
        bound.append(each)
    return bound


def serve_one(listening: socket.socket, host: str, port: int) -> None:
    """One server process: the app built from the environment, as `harvesters.cli.served_app` makes it."""
    import uvicorn

    config = uvicorn.Config("harvesters.cli:served_app", factory=True, host=host, port=port, log_config=None,
                            **FAST)
    uvicorn.Server(config).run(sockets=[listening])


def serve_processes(host: str, port: int, workers: int) -> int:
    """Run `workers` server processes until SIGINT or SIGTERM, then stop them all, and return the exit code.

    A process that dies while serving (killed, out of memory) is replaced; one that ends as it starts (its error
    printed above) stops them all, with exit code 1, rather than being restarted in a loop."""
    sockets = bound_sockets(host, port, workers)
    spawning = multiprocessing.get_context("spawn")
    stopping, code = False, 0

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM):  # before any process starts: none is left behind
        signal.signal(signum, stop)

    def started(listening: socket.socket) -> tuple[multiprocessing.process.BaseProcess, float]:
        process = spawning.Process(target=serve_one, args=(listening, host, port), name="harvest-serve")
        process.start()
        return process, time.monotonic()

    running = [started(listening) for listening in sockets]  # the process serving each socket, and since when
    while not stopping:
        wait([process.sentinel for process, _ in running], timeout=0.5)
        for index, (process, since) in enumerate(running):
            if stopping or process.is_alive():
                continue
            if time.monotonic() - since < START_SECONDS:
                stopping, code = True, 1
            else:  # a new socket: the old one's queue was the dead process's, nobody answers it
                sockets[index].close()
                [sockets[index]] = bound_sockets(host, port, 1)
                running[index] = started(sockets[index])
    for process, _ in running:
        if process.is_alive():
            process.terminate()  # uvicorn finishes the requests under way, then exits
    for process, _ in running:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
    return code
