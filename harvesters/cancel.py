"""Cancelling a job: a pending or running job ends `failed` with a job error starting "Cancelled", at once.

Its unsettled items fail with it and its source may run again right away; the workers stop taking its items
at the next item (each batch, and each write to a portal over HTTP, first looks whether the job has ended),
and its tasks still waiting in the queue are taken out.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from harvesters.errors import JobEnded
from harvesters.job_end import job_ended
from harvesters.queue import drop_waiting_tasks
from harvesters.runtime import Runtime

log = logging.getLogger(__name__)


def cancel_job(runtime: Runtime, job_id: str, by: str) -> None:
    """End the job as failed, "Cancelled {by}" (e.g. "from the command line"); JobEnded when it has already
    ended."""
    store = runtime.store
    if not store.fail_job(job_id, f"Cancelled {by}"):
        raise JobEnded(f"Job {job_id} has already ended ({store.job_row(job_id).status}): there is nothing to cancel")
    try:
        drop_waiting_tasks(job_id)
    except RedisError as error:  # the tasks left find the job ended and do nothing
        log.warning("Tasks of cancelled job %s left in the queue: %s", job_id, error)
    job_ended(store, job_id, runtime.http, runtime.config)
