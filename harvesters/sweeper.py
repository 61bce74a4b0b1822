"""The sweeper: no job stays "running" forever.

An unfinished job older than HARVEST_JOB_TIMEOUT fails with a job error. One without heartbeat
for HARVEST_HEARTBEAT_TIMEOUT (its worker died: SIGKILL, machine lost) and with no task waiting
for a worker is taken over: the items its worker had started go back to pending, the job is
resumed (re-gathered if its gather was cut short, its pending items re-enqueued) and its record
says so. Several sweepers may run at once (`harvest sweep`, every scheduler): the store lets one
take each job over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from harvesters import queue
from harvesters.clock import utcnow
from harvesters.http import Http, HttpOptions
from harvesters.job_end import job_ended
from harvesters.settings import settings
from harvesters.store import JobRow, Store

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    resumed: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # stale, but a task of theirs waits for a worker


def sweep(store: Store, now: datetime | None = None, wait: bool = False) -> SweepReport:
    """Fail timed-out jobs and resume abandoned ones. Without Redis, resumed jobs run in this process
    (in the foreground with `wait`)."""
    config = settings()
    http = Http(HttpOptions.from_settings(config))
    now = now or utcnow()
    stale_before = now - timedelta(seconds=config.heartbeat_timeout)
    report = SweepReport()
    for job in store.unfinished_jobs():
        if job.created < now - timedelta(seconds=config.job_timeout):
            if store.fail_job(job.id, f"Job timed out: not finished {config.job_timeout:g} s after it was "
                                      "created (HARVEST_JOB_TIMEOUT)"):
                report.timed_out.append(job.id)
                log.warning("Job %s timed out (HARVEST_JOB_TIMEOUT)", job.id)
                job_ended(store, job.id, http, config)
        elif (job.heartbeat or job.created) < stale_before:
            if queue.has_waiting_tasks(job.id):
                store.beat(job.id)
                report.waiting.append(job.id)
            elif resume(store, job, stale_before, config.heartbeat_timeout, wait):
                report.resumed.append(job.id)
    return report


def resume(store: Store, job: JobRow, stale_before: datetime, silence: float, wait: bool = False) -> bool:
    left = store.take_over_job(job.id, stale_before)
    if left is None:  # alive after all, or another sweeper took it
        return False
    regather = "" if job.gathered else "; its gather is restarted"
    store.add_job_error(job.id, f"Resumed: its worker was lost (no heartbeat for {silence:g} s); {left} "
                                f"unprocessed items are processed again{regather}", level="info")
    log.info("Resuming job %s: its worker was lost, %d items left", job.id, left)
    queue.start(store, job.id, resume=True, wait=wait)
    return True
