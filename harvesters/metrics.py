"""Metrics in the Prometheus text format (prometheus-client), served at GET /metrics by `harvest serve`.

Two kinds, by where the truth is:

- **The state, derived from the store and Redis at scrape time** (any machine sees the same): jobs by status,
  and per queue the tasks waiting and the workers listening.
- **Events, counted by the process they happen in**: items by outcome and job durations (counted when a job
  ends, by the process that ends it), catalog request latency, portal write latency and retries, the portal
  circuit breaker's state. Several processes produce them (RQ workers), so they use prometheus-client's
  multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set (before they start) to a directory shared by the workers
  and `harvest serve` of a machine, /metrics adds up every process's counts. Without it, /metrics shows those
  of the serving process (what runs inline in it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from harvesters.models import JobStatus
from harvesters.settings import Settings
from harvesters.store import Store

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOB_STATUSES: tuple[str, ...] = JobStatus.__args__  # type: ignore[attr-defined]

ITEMS = Counter("harvest_items", "Items of ended jobs (previews aside), by outcome", ["outcome"])
JOB_DURATION = Histogram("harvest_job_duration_seconds", "Time from a job's start to its end, by final status",
                         ["status"], buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 43200))
CATALOG_REQUEST = Histogram("harvest_catalog_request_duration_seconds",
                            "Time of each request to a catalog, its whole answer read (retries each counted)",
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
PORTAL_WRITE = Histogram("harvest_portal_write_duration_seconds",
                         "Time of each write request to the udata portal (POST, PUT, PATCH, DELETE)", ["method"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
PORTAL_RETRIES = Counter("harvest_portal_retries", "Requests to the udata portal sent again (429, 5xx, network)",
                         ["method"])
BREAKER_OPEN = Gauge("harvest_portal_breaker_open", "1 while a process's circuit breaker to the portal is open",
                     multiprocess_mode="livemax")


class StateCollector(Collector):
    """What the store and Redis say now."""

    def __init__(self, store: Store, config: Settings) -> None:
        self.store = store
        self.config = config

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("harvest_jobs", "Jobs kept in the store (previews aside), by status",
                                 labels=["status"])
        counts = self.store.count_jobs_by_status()
        for status in JOB_STATUSES:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        if self.config.redis_url:
            yield from self._queue()

    def _queue(self) -> Iterator[Metric]:
        from redis.exceptions import RedisError  # with the queue: only a deployment with Redis has one

        from harvesters.queue import harvest_queue, workers_listening

        depth = GaugeMetricFamily("harvest_queue_depth", "Tasks waiting in the RQ queue", labels=["queue"])
        workers = GaugeMetricFamily("harvest_queue_workers", "Workers listening on the RQ queue", labels=["queue"])
        name = self.config.queue
        try:
            depth.add_metric([name], harvest_queue(name).count)
            workers.add_metric([name], workers_listening(name))
        except RedisError:  # /healthz says Redis is down; the store's metrics are still worth scraping
            return
        yield depth
        yield workers


def render(store: Store, config: Settings) -> bytes:
    """Every metric, in the Prometheus text format."""
    state = CollectorRegistry()
    state.register(StateCollector(store, config))
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        events = CollectorRegistry()
        MultiProcessCollector(events, path=directory)
    else:
        events = REGISTRY
    return generate_latest(events) + generate_latest(state)


def mark_process_dead() -> None:
    """A worker stopping: its live gauges (the breaker's) stop counting in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())
