"""Helper processes of an inline run: forked from the harvest, talking to it over two pipes.

A helper is forked (it starts with the job's state as it is: its backend, its gather half done) and
exchanges byte messages with the harvest, its requests on one pipe and its answers on the other.
It ignores Ctrl-C (the harvest handles it, then closes the pipes) and ends when its input ends or
its output is closed, without running anything of the harvest's exit. Each helper closes the
harvest's ends of every other helper's pipes, so that the end of the harvest (or of one helper)
is seen by every process at once.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import multiprocessing.connection
import os
import signal
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection

from harvesters.collector import spare_the_collector

JOIN_TIMEOUT = 5.0  # seconds a helper gets to exit once its pipes are closed
PIPE_SIZE = 1 << 20  # bytes a pipe holds, where the system allows it (Linux's default limit)
MESSAGE_HEADER = 12  # bytes multiprocessing's Connection.send_bytes writes before a message, at most
_HARVEST_ENDS: weakref.WeakSet[Connection] = weakref.WeakSet()  # this process's ends of its helpers' pipes

Serve = Callable[[Connection, Connection], None]  # (requests it reads, answers it writes)


class HelperProcess:
    """A forked helper running `serve(requests, answers)`; this process writes to it with `send` and reads its
    answers with `receive`."""

    def __init__(self, name: str, serve: Serve) -> None:
        context = multiprocessing.get_context("fork")  # the child starts with this process's state
        requests, self._requests = context.Pipe(duplex=False)
        self._answers, answers = context.Pipe(duplex=False)
        self._holds = _widen(self._requests)
        _widen(self._answers)
        _HARVEST_ENDS.update((self._requests, self._answers))
        self._process = context.Process(target=_run, args=(serve, requests, answers), name=name, daemon=True)
        self._process.start()
        requests.close()  # the child's ends: closed here, so that each side sees the other's exit
        answers.close()

    def send(self, message: bytes) -> None:
        self._requests.send_bytes(message)

    def holds(self, size: int) -> bool:
        """Whether the helper's input holds a message of `size` bytes whole: sent while the helper writes an answer,
        it waits there instead of waiting for the helper to read it (which waits for this process to read that
        answer)."""
        return size + MESSAGE_HEADER <= self._holds

    def receive(self) -> bytes:
        return self._answers.recv_bytes()

    def ready(self) -> bool:
        """Whether an answer is there to receive, without waiting."""
        return self._answers.poll(0)

    def close(self) -> None:
        """Close the pipes (the helper sees the end of its input, or its output closed, and exits) and wait."""
        self._requests.close()
        self._answers.close()
        self._process.join(JOIN_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _widen(pipe: Connection) -> int:
    """Let a pipe hold a whole message (a batch of records is some 600 kB), where the system allows it: its writer
    sends it and goes on with the next one instead of waiting until the reader has read it all. The bytes it holds
    (0 when unknown)."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (AttributeError, OSError):  # not Linux, or a lower limit (/proc/sys/fs/pipe-max-size)
        pass
    try:
        return int(fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ))
    except (AttributeError, OSError):
        return 0


def _run(serve: Serve, requests: Connection, answers: Connection) -> None:
    spare_the_collector()  # what it inherits is the harvest's: its collector walks only what it makes itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the harvest: it ends this process by its pipes
    for end in list(_HARVEST_ENDS):
        end.close()
    try:
        serve(requests, answers)
    except (EOFError, OSError):  # the harvest is over (or gone)
        pass
    finally:
        os._exit(0)


def first_ready(*helpers: HelperProcess) -> HelperProcess:
    """Wait until one of these helpers has an answer to receive (or has ended): the first such one."""
    ready = multiprocessing.connection.wait([helper._answers for helper in helpers])
    return next(helper for helper in helpers if helper._answers in ready)
