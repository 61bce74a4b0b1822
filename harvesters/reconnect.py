"""A worker outlives its Redis: when Redis restarts or is unreachable for a while, it waits with backoff and
works again, instead of exiting.

RQ's worker retries its own dequeue, but any other Redis call failing (its heartbeat, recording a task's end)
ends `work()`. Here that ending is told apart from a requested stop (SIGTERM, Ctrl-C) or a burst run's end:
the worker waits until Redis answers again (0.5 s, then twice as long each time, up to 30 s, a line in the
log each time) and a new RQ worker (a new name: the old registration went with Redis) takes over. What was in
the queue when Redis lost it is found again by the sweeper: the items stay pending in the store. A burst run
(a one-off command) started while Redis is down does not wait: the Redis error says so, in one line.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq.worker import BaseWorker

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Waits growing from `first` to `most` seconds, doubling each time; `reset` once Redis answers."""

    first: float = 0.5
    most: float = 30.0
    next: float = 0.5

    def __post_init__(self) -> None:
        self.next = self.first

    def take(self) -> float:
        wait, self.next = self.next, min(self.next * 2, self.most)
        return wait

    def reset(self) -> None:
        self.next = self.first


def stopped(worker: BaseWorker) -> bool:
    """Whether the worker ended because it was asked to (SIGTERM, SIGINT)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None


def keep_working(new_worker: Callable[[], BaseWorker], connection: Redis, burst: bool = False,
                 backoff: Backoff | None = None, logging_level: str = "INFO") -> bool:
    """Run RQ workers one after the other until one ends on request (or, with `burst`, with the queues empty),
    reconnecting with backoff whenever Redis fails under one; RQ logs at `logging_level`. Return whether any task
    was processed. With `burst`, a Redis that does not answer at the start raises its RedisError."""
    backoff = backoff or Backoff()
    if burst:
        connection.ping()
    worked = False
    while True:
        worker: BaseWorker | None = None
        try:
            worker = new_worker()  # it names itself to Redis at once
            worked = worker.work(burst=burst, logging_level=logging_level) or worked
            if stopped(worker) or (burst and _answers(connection)):
                return worked
        except RedisError as error:  # from its start, or its own teardown, Redis gone
            log.warning("Redis failed under the worker: %s", error)
        if (worker is not None and stopped(worker)) or not wait_for_redis(connection, backoff):
            return worked


def wait_for_redis(connection: Redis, backoff: Backoff) -> bool:
    """Wait until Redis answers, with backoff; False when asked to stop meanwhile (SIGTERM, SIGINT)."""
    stop = threading.Event()
    handlers = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            wait = backoff.take()
            log.warning("Redis unreachable at %s; the worker tries again in %.1f s", _where(connection), wait)
            if stop.wait(wait):
                break
            if _answers(connection):
                log.warning("Redis answers again at %s: the worker goes on", _where(connection))
                backoff.reset()
                return True
        return False
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisError:
        return False


def _where(connection: Redis) -> str:
    kwargs = connection.connection_pool.connection_kwargs
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
