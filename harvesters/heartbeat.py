"""While a process works on a job, a background thread stamps the job's heartbeat in the store.

The sweeper tells a job someone works on from one whose worker died (SIGKILL, machine lost) by
that stamp alone, so it works the same for inline runs, threads and RQ workers on any machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harvesters.store import Store

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(store: Store, job_id: str, interval: float) -> Iterator[None]:
    """Beat for `job_id` every `interval` seconds (HARVEST_HEARTBEAT_INTERVAL) until the block ends."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                store.beat(job_id)
            except Exception:  # a missed beat (database busy, restarting) is retried at the next one
                log.warning("Heartbeat of job %s failed", job_id, exc_info=True)

    store.beat(job_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
