"""Items per second of launched jobs with 1 and with 2 `harvest worker` processes on a 2,000-dataset catalog.

    .venv/bin/python -m benchmarks.workers_benchmark [--datasets 2000] [--database sqlite|postgresql|both]

Real parts: redis-server, the generated paged DCAT catalog (Turtle, hydra:next) over local HTTP, the
store on SQLite or PostgreSQL (both started in temporary directories). Each figure is one job, from
`launch` to its final status, on a fresh store, with the workers already started: so it includes the
gather, the fan-out through Redis and the finalize. The machine's other load counts too: run it idle.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rq import Worker

from harvesters.queue import launch, redis_connection
from harvesters.store import Store
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import harvested_remote_ids, paged_source
from tests.servers.postgres_server import PostgresServer
from tests.servers.redis_server import RedisServer
from tests.servers.workers import Processes, wait_for, wait_until_finished


@contextmanager
def databases(kind: str, directory: Path) -> Iterator[Iterator[str]]:
    """Fresh store URLs, one per run."""
    if kind == "sqlite":
        yield (f"sqlite:///{directory / f'bench-{n}.db'}" for n in range(1_000))
        return
    with PostgresServer() as server:
        yield (server.create_database() for _ in range(1_000))


def measure(url: str, workers: int, datasets: int, catalog: CatalogServer, directory: Path) -> float:
    """Items per second of one launched job processed by `workers` workers."""
    os.environ["HARVEST_DATABASE_URL"] = url
    redis_connection().flushall()
    store = Store(url)
    source = paged_source(store, catalog, datasets)
    with Processes(directory) as processes:
        for _ in range(workers):
            processes.worker()
        wait_for(lambda: Worker.count(connection=redis_connection()) == workers, 60, "the workers to start")
        start = time.perf_counter()
        job = wait_until_finished(store, launch(store, source.id), processes, timeout=1800)
        elapsed = time.perf_counter() - start
    harvested = len(harvested_remote_ids(store, source))
    if job.status != "done" or harvested != datasets:
        raise SystemExit(f"job {job.status} with {harvested} of {datasets} datasets: {job.errors}")
    store.engine.dispose()
    return datasets / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="workers-bench-")))
        redis = stack.enter_context(RedisServer())
        catalog = stack.enter_context(CatalogServer())
        os.environ["HARVEST_REDIS_URL"] = redis.url
        print(f"{args.datasets} datasets, one launched job per figure (launch -> done), {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        for kind in kinds:
            with databases(kind, directory) as urls:
                for workers in (1, 2):
                    rate = measure(next(urls), workers, args.datasets, catalog, directory)
                    print(f"{kind:<10} {workers} worker{'s' if workers > 1 else ' '}: {rate:7.1f} items/s", flush=True)


if __name__ == "__main__":
    main()
