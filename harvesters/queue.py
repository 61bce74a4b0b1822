"""Jobs spread over RQ workers on one or many machines.

`launch` records a pending job and enqueues its gather; the gather records the items in the SQL
store and enqueues their processing in batches; any worker processes a batch; whoever settles the
last item finalizes the job (the store lets exactly one through). Every task starts from the state
in the store, so a task delivered twice does nothing twice. Tasks are JSON (no pickle in Redis).
A worker runs its tasks in its own process (no fork per task), on one Runtime: a job's caches serve
every batch of it the worker takes.

Without HARVEST_REDIS_URL, `launch` runs the job in a background thread of the calling process
(what the HTTP API gets on a single machine); `harvest launch` then refuses, as its process would
end before the job.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer

from backends import registry
from harvesters.collector import spare_the_collector
from harvesters.errors import Refused, StoreUnavailable
from harvesters.heartbeat import heartbeat
from harvesters.logs import log_context
from harvesters.metrics import mark_process_dead
from harvesters.pipeline import Harvester, error_message
from harvesters.reconnect import keep_working
from harvesters.runtime import Runtime, Runtimes
from harvesters.settings import Settings, settings
from harvesters.sources import check_launchable
from harvesters.store import Store

log = logging.getLogger(__name__)
TASK_PREFIX = "harvest"
RUNTIMES = Runtimes()  # a worker's, kept between its tasks


def launch(store: Store, source_id: str, scheduled_for: datetime | None = None) -> str:
    """Start a job for the source and return its id at once: enqueued for the workers with Redis, else run
    in a background thread. Raise JobAlreadyRunning while the source has a job running, NotLaunchable for
    an inactive or deleted source, NotFound for an unknown one."""
    source = store.get_source(source_id)
    check_launchable(source)
    job_id = store.create_job(source.id, exclusive=True, scheduled_for=scheduled_for)
    try:
        start(store, job_id)
    except Exception as error:  # Redis unreachable: the job must not block the source
        store.fail_job(job_id, f"The job could not be started: {error_message(error)}")
        raise
    return job_id


def start(store: Store, job_id: str, resume: bool = False, wait: bool = False) -> None:
    """Get an existing job going: on the workers with Redis, else in a thread (waited for if `wait`)."""
    if settings().redis_url:
        enqueue(resume_task if resume else gather_task, job_id)
        return
    harvester = Runtime.from_environment(store).harvester()
    thread = threading.Thread(target=harvester.run_job, args=(job_id, resume), name=f"job-{job_id}",
                              daemon=not wait)
    thread.start()
    if wait:
        thread.join()


# --- RQ plumbing ---------------------------------------------------------------------------------------


#: How a command to Redis rides out a quick restart: retried on connection errors, waits of 0.25 s doubling up to
#: 2 s, about 4 s in all. Past that a batch is left pending for the sweeper (`enqueue_items`), and a worker waits
#: for Redis as long as it takes (harvesters/reconnect.py).
REDIS_RETRY = Retry(ExponentialWithJitterBackoff(base=0.25, cap=2), retries=4)


@cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30,
                          retry=REDIS_RETRY)


def redis_connection(config: Settings | None = None) -> Redis:
    """Redis as `config` (by default the environment, read now) names it."""
    url = (config or settings()).redis_url
    if not url:
        raise Refused("No Redis configured: set HARVEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    return _redis(url)


def harvest_queue(name: str | None = None, config: Settings | None = None) -> Queue:
    config = config or settings()
    return Queue(name or config.queue, connection=redis_connection(config), serializer=JSONSerializer)


def enqueue(task: Callable[..., None], job_id: str, *args: object, config: Settings | None = None) -> None:
    """Enqueue a task of a harvest job; its RQ id names the job, so the sweeper can see it waiting. The
    settings are `config`, else read now."""
    config = config or settings()
    harvest_queue(config=config).enqueue(
        task, job_id, *args,
        job_id=f"{TASK_PREFIX}-{job_id}-{task.__name__.removesuffix('_task')}-{secrets.token_hex(4)}",
        job_timeout=int(config.job_timeout), result_ttl=0, failure_ttl=7 * 24 * 3600,
        description=f"{task.__name__}({job_id})",
    )


def has_waiting_tasks(job_id: str) -> bool:
    """Whether a task of this job waits in the queue for a free worker (so the job is not lost)."""
    if not settings().redis_url:
        return False
    return bool(_waiting_tasks(harvest_queue(), job_id))


def _waiting_tasks(queue: Queue, job_id: str) -> list[str]:
    prefix = f"{TASK_PREFIX}-{job_id}-"
    return [task_id for task_id in queue.get_job_ids() if task_id.startswith(prefix)]


def drop_waiting_tasks(job_id: str) -> int:
    """Take the tasks of this job that wait for a worker out of the queue (a cancelled job); how many."""
    if not settings().redis_url:
        return 0
    queue = harvest_queue()
    waiting = _waiting_tasks(queue, job_id)
    for task_id in waiting:
        queue.remove(task_id)
    return len(waiting)


def workers_listening(queue_name: str | None = None) -> int:
    """How many workers listen on the queue (HARVEST_QUEUE by default)."""
    return Worker.count(connection=redis_connection(), queue=harvest_queue(queue_name))


def run_worker(queues: Sequence[str] = (), burst: bool = False) -> bool:
    """Work on the queues (default HARVEST_QUEUE) until stopped, or until they are empty with `burst`."""
    connection = redis_connection()
    registry()  # load the backends once, before the work horses are forked
    _open_runtime()
    spare_the_collector()
    names = list(queues or [settings().queue])
    started: list[str] = []  # a new RQ worker (a new name) after each Redis restart

    def new_worker() -> SimpleWorker:
        worker = SimpleWorker([harvest_queue(name) for name in names], connection=connection,
                              serializer=JSONSerializer)
        log.info("Worker %s listening on queue(s) %s", worker.name, ", ".join(names))
        started.append(worker.name)
        return worker

    try:
        return keep_working(new_worker, connection, burst=burst,
                            logging_level=logging.getLevelName(logging.getLogger().level))
    finally:
        if started:
            log.info("Worker %s stopped", ", ".join(started))
        mark_process_dead()


def _open_runtime() -> None:
    """Open the worker's harvester before it listens (the store's engine, its tables checked, a first connection;
    the target), so that its first task does not wait for them; when the store cannot be opened now, the tasks
    open it."""
    try:
        runtime = RUNTIMES.current()
        with runtime.store.connected():  # the first connection: the dialect learns the server
            runtime.worker_harvester  # noqa: B018 (built now: it is built once, when first asked for)
    except StoreUnavailable as error:
        log.warning("%s; the tasks will open it", error)


# --- tasks (run by the workers) ---------------------------------------------------------------------------


def enqueue_items(job_id: str, item_ids: list[int]) -> None:
    """Enqueue a batch of the job's items; with Redis gone past its retries, the items stay pending in the
    store and the gather goes on: the sweeper enqueues them once the job's heartbeat is stale. The settings are
    the worker's, not read again for each batch (some 3 ms each time, on the gather's way)."""
    try:
        enqueue(process_task, job_id, item_ids, config=RUNTIMES.current().config)
    except RedisError as error:
        log.warning("Batch of %d items of job %s not enqueued (%s): left pending for the sweeper", len(item_ids),
                    job_id, error)


@contextmanager
def _working_on(job_id: str) -> Iterator[Harvester]:
    """The process's harvester for the configured settings, heartbeating for the job while the task runs; what
    is logged meanwhile names the job and its source. The task's statements share one connection."""
    runtime = RUNTIMES.current()
    harvester = runtime.worker_harvester
    with harvester.failing_on_store_errors(job_id), runtime.store.connected():
        with log_context(job_id=job_id, source_id=harvester.source_of(job_id)), \
                heartbeat(runtime.store, job_id, runtime.config.heartbeat_interval):
            yield harvester


def gather_task(job_id: str) -> None:
    with _working_on(job_id) as harvester:
        if harvester.store.claim_job(job_id):  # else delivered twice, or failed meanwhile
            log.info("Gathering job %s", job_id)
            # with a second CPU, a helper process reads the catalog ahead while this one records and dispatches
            # the batches: it has nothing else to do while it waits for them
            harvester.gather(job_id, dispatch=enqueue_items,
                             idle=(lambda gathering: None) if harvester.reads_ahead() else None)
            log.info("Gathered job %s", job_id)
            harvester.finalize(job_id)


def process_task(job_id: str, item_ids: list[int]) -> None:
    with _working_on(job_id) as harvester:
        log.debug("Processing %d items of job %s", len(item_ids), job_id)
        harvester.process(job_id, item_ids)
        harvester.finalize(job_id)


def resume_task(job_id: str) -> None:
    with _working_on(job_id) as harvester:
        log.info("Resuming job %s", job_id)
        harvester.resume(job_id, dispatch=enqueue_items)
        harvester.finalize(job_id)
