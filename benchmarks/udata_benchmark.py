"""Writes per second to the REAL udata (tests/servers/udata_portal.py: udata on mongomock) through the udata target.

    .venv/bin/python -m benchmarks.udata_benchmark [--datasets 60] [--budget 10] [--delay 0.5]

On generated DCAT catalogs (benchmarks/dcat_catalog.py; their contact points are created on the portal too):

1. Inline and unthrottled (the portal is the limit): a first harvest (one POST per dataset), a second on changed
   content (one GET + one PUT per dataset), a third unchanged (no write at all).
2. The portal's budget (HARVEST_UDATA_WRITES_PER_SECOND=--budget) shared through the real Redis by 1, then 4
   `harvest worker` processes on one launched job: the writes per second the portal saw stay within the budget
   whatever the number of workers.
3. A slow portal (every write held --delay seconds in front of udata), one worker, the same budget: one write
   at a time, then pools of HARVEST_UDATA_CONCURRENT_WRITES=4 (the default) and 8: a pool keeps the budget busy
   once it holds about budget x (delay + udata's own time) writes.

Writes per second are the portal's own count: the writes it received, between the first and the last.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from rq import Worker

from benchmarks.dcat_catalog import pages
from harvesters.pipeline import Harvester
from harvesters.queue import launch, redis_connection
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets.udata import UdataPortal
from tests.servers.catalog import CatalogServer
from tests.servers.redis_server import RedisServer
from tests.servers.udata_portal import UdataPortal as UdataServer
from tests.servers.workers import Processes, wait_for, wait_until_finished

PAGE_SIZE = 100
RUNS = itertools.count()


def serve(server: CatalogServer, path: str, total: int, seed: int) -> str:
    base = server.url + path
    for number, content in enumerate(pages(base, total, PAGE_SIZE, seed), 1):
        server.serve(f"{path}/catalog.rdf?page={number}", content, "application/rdf+xml")
    return f"{base}/catalog.rdf?page=1"


def new_source(store: Store, udata: UdataServer, server: CatalogServer, total: int) -> str:
    """A source on a catalog of its own, publishing under an organization of its own (nothing to reuse)."""
    run = next(RUNS)
    url = serve(server, f"/run-{run}", total, seed=run)
    return register_source(store, name=f"run {run}", url=url, backend="dcat",
                           organization=udata.new_organization(f"Publisher {run}")).id


def inline(store: Store, source_id: str) -> tuple[Counter[str], float]:
    harvester = Harvester(store)
    assert isinstance(harvester.target, UdataPortal)
    start = time.perf_counter()
    job = harvester.run(store.get_source(source_id))
    elapsed = time.perf_counter() - start
    assert job.status == "done", (job.status, job.errors[:3], [i.errors for i in job.items if i.errors][:3])
    return harvester.target.client.writes, elapsed


def report_inline(label: str, writes: Counter[str], elapsed: float, total: int) -> None:
    count = sum(writes.values())
    print(f"{label:<44} {total:>5} datasets {elapsed:7.1f} s  {count:>5} writes {count / elapsed:6.1f} writes/s  "
          f"{dict(writes)}", flush=True)


def on_workers(label: str, udata: UdataServer, server: CatalogServer, directory: Path, total: int, workers: int,
               settings: dict[str, str]) -> None:
    """One launched job on `workers` worker processes with these settings; the writes the portal saw."""
    database = f"sqlite:///{directory / f'workers-{next(RUNS)}.db'}"
    os.environ.update(HARVEST_DATABASE_URL=database, **settings)
    redis_connection().flushall()  # an empty queue and a full bucket
    store = Store(database)
    source_id = new_source(store, udata, server, total)
    with Processes(directory) as processes:
        for _ in range(workers):
            processes.worker()
        wait_for(lambda: Worker.count(connection=redis_connection()) == workers, 60, "the workers to start")
        udata.write_stats(reset=True)
        start = time.perf_counter()
        job = wait_until_finished(store, launch(store, source_id), processes, timeout=1800)
        elapsed = time.perf_counter() - start
        stats = udata.write_stats()
    if job.status != "done":
        raise SystemExit(f"{label}: job {job.status}: {job.errors}")
    budget = float(settings["HARVEST_UDATA_WRITES_PER_SECOND"])
    verdict = "within" if stats.per_second <= budget * 1.02 else "OVER"
    print(f"{label:<44} {stats.writes:>5} writes {stats.per_second:6.2f} writes/s, {verdict} the budget of "
          f"{budget:g}/s; at most {stats.max_in_flight} in flight; job {elapsed:5.1f} s", flush=True)
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=60)
    parser.add_argument("--budget", type=float, default=10.0, help="writes per second of the paced runs")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds each write of the slow portal takes")
    args = parser.parse_args()
    with ExitStack() as stack:
        udata = stack.enter_context(UdataServer())
        server = stack.enter_context(CatalogServer())
        redis = stack.enter_context(RedisServer())
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="udata-bench-")))
        os.environ.update(HARVEST_UDATA_URL=udata.url, HARVEST_UDATA_API_KEY=udata.api_key,
                          HARVEST_ALLOW_PRIVATE_ADDRESSES="1")
        print(f"{args.datasets} datasets per run, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        database = f"sqlite:///{directory / 'inline.db'}"
        os.environ.update(HARVEST_DATABASE_URL=database, HARVEST_UDATA_WRITES_PER_SECOND="1000")
        os.environ.pop("HARVEST_REDIS_URL", None)
        store = Store(database)
        source_id = new_source(store, udata, server, args.datasets)
        report_inline("inline, create (unthrottled)", *inline(store, source_id), args.datasets)
        source = store.get_source(source_id)
        serve(server, source.url.split("/catalog.rdf")[0].removeprefix(server.url), args.datasets, seed=10_000)
        report_inline("inline, update (unthrottled)", *inline(store, source_id), args.datasets)
        report_inline("inline, unchanged", *inline(store, source_id), args.datasets)

        paced = {"HARVEST_REDIS_URL": redis.url, "HARVEST_UDATA_WRITES_PER_SECOND": str(args.budget)}
        for workers in (1, 4):  # batches of 10, so that every worker gets some
            on_workers(f"{workers} worker{'s' if workers > 1 else ''}, budget shared in Redis", udata, server,
                       directory, args.datasets, workers, paced | {"HARVEST_BATCH_SIZE": "10"})
        udata.set_delay(args.delay)
        for concurrent in (1, 4, 8):
            on_workers(f"slow portal ({args.delay:g} s a write), {concurrent} at a time", udata, server, directory,
                       args.datasets, 1, paced | {"HARVEST_BATCH_SIZE": "100",
                                                  "HARVEST_UDATA_CONCURRENT_WRITES": str(concurrent)})
        udata.set_delay(0)


if __name__ == "__main__":
    main()
