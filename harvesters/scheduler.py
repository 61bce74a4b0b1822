"""The scheduler: launch each source when its schedule is due, exactly once however many schedulers run.

A source runs on schedule when it is active, not deleted, accepted (validation.state) and has a
schedule: a cron expression or @hourly, @daily, @weekly, @monthly, evaluated in UTC. At each tick,
per source, the latest due time not yet run is recorded in the store by a guarded update: of several
schedulers ticking at once, exactly one records it, and only that one launches the run. Due times
missed while no scheduler ran are caught up with one run. A due run whose previous job still runs is
skipped (one running job per source). Every tick also sweeps (harvesters/sweeper.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from croniter import croniter

from harvesters.clock import utcnow
from harvesters.errors import Refused
from harvesters.queue import launch
from harvesters.settings import settings
from harvesters.store import Store
from harvesters.sweeper import sweep

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def latest_due(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """The latest time in (since, now] at which the schedule fires, if there is one."""
    latest = croniter(schedule, now).get_prev(datetime)
    following = croniter(schedule, latest).get_next(datetime)
    if following <= now:  # get_prev is strict: `now` itself may be due
        latest = following
    return latest if latest > since else None


def next_due(schedule: str, now: datetime) -> datetime:
    """When the schedule fires next after `now` (UTC)."""
    return croniter(schedule, now).get_next(datetime)


class Scheduler:
    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock  # when schedules are due; sweeping always uses the real time

    def tick(self) -> list[str]:
        """Sweep, then launch the due runs; return the ids of the jobs launched."""
        sweep(self.store)
        return self.launch_due()

    def launch_due(self) -> list[str]:
        now = self.clock()
        launched = []
        for source in self.store.scheduled_sources():
            if not source.accepted:
                continue
            due = latest_due(source.schedule, source.scheduled_at or source.created_at, now)
            if due is None or not self.store.claim_schedule(source.id, due):
                continue
            try:
                launched.append(launch(self.store, source.id, scheduled_for=due))
            except Refused as refusal:
                log.warning("Run of source %s due at %s skipped: %s", source.name, due.isoformat(), refusal)
                continue
            log.info("Launched job %s of source %s (due at %s)", launched[-1], source.name, due.isoformat())
        return launched

    def run(self, stop: threading.Event) -> None:
        """Tick every HARVEST_SCHEDULER_INTERVAL seconds until `stop` is set."""
        interval = settings().scheduler_interval
        log.info("Scheduler started: a tick every %g s", interval)
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the store or Redis is unreachable for now: try again at the next tick
                log.exception("Scheduler tick failed")
            stop.wait(interval)
        log.info("Scheduler stopped")
