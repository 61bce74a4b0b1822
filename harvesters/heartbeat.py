"""While a process works on a job, a background thread stamps the job's heartbeat in the store.

The sweeper tells a job someone works on from one whose worker died (SIGKILL, machine lost) by
that stamp alone, so it works the same for inline runs, threads and RQ workers on any machine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from harvesters.errors import StoreUnavailable
from harvesters.store import Store

log = logging.getLogger(__name__)
_LAST_BEATS: dict[tuple[str, str], float] = {}  # (store, job) -> when this process last beat it (monotonic)


@contextmanager
def heartbeat(store: Store, job_id: str, interval: float) -> Iterator[None]:
    """Beat for `job_id` every `interval` seconds (HARVEST_HEARTBEAT_INTERVAL) until the block ends; at once
    too, unless this process beat it less than half an interval ago (a worker's tasks follow each other)."""
    stop = threading.Event()
    key = (store.url, job_id)

    def beat() -> None:
        store.beat(job_id)
        _LAST_BEATS[key] = time.monotonic()

    def beat_regularly() -> None:
        while not stop.wait(interval):
            try:
                beat()
            except StoreUnavailable as error:  # full, or locked: the job's own writes say so
                log.warning("Heartbeat of job %s missed: %s", job_id, error)
            except Exception:  # a missed beat (database busy, restarting) is retried at the next one
                log.warning("Heartbeat of job %s failed", job_id, exc_info=True)

    if time.monotonic() - _LAST_BEATS.get(key, -interval) >= interval / 2:
        if len(_LAST_BEATS) > 1000:  # jobs long gone
            _LAST_BEATS.clear()
        beat()
    thread = threading.Thread(target=beat_regularly, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
