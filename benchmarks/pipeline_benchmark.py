"""Items per second of an inline harvest into the local catalog, on SQLite and on PostgreSQL, first run and
unchanged re-run; PostgreSQL should stay within 2x of SQLite (no per-item round trips on either).

    .venv/bin/python -m benchmarks.pipeline_benchmark [--datasets 3000] [--database sqlite|postgresql|both]

Real parts: the generated paged DCAT catalog (Turtle, hydra:next) over local HTTP, the whole pipeline
(gather, store the items, map, write to the local catalog, finalize) on a fresh store: a SQLite file, or a
database of a PostgreSQL server started in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import paged_source
from tests.servers.postgres_server import PostgresServer


def timed_run(store: Store, source_id: str) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    job = Harvester(store).run(store.get_source(source_id), with_items=False)
    elapsed = time.perf_counter() - start
    if job.status != "done":
        raise SystemExit(f"job ended {job.status}: {job.errors}")
    return elapsed, store.summary(job.id)


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    with PostgresServer() as server:
        yield server.create_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=3000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    print(f"{args.datasets} datasets, inline, load average {os.getloadavg()[0]:.1f}")
    first_runs: dict[str, float] = {}
    for kind in kinds:
        with tempfile.TemporaryDirectory() as directory, CatalogServer() as catalog, \
                database(kind, Path(directory)) as url:
            os.environ["HARVEST_DATABASE_URL"] = url
            store = Store(url)
            source = paged_source(store, catalog, args.datasets)
            for label in ("first run (creates)", "second run (unchanged)"):
                elapsed, summary = timed_run(store, source.id)
                first_runs.setdefault(kind, elapsed)
                counts = ", ".join(f"{key} {value}" for key, value in summary.items() if value)
                print(f"{kind:<10} {label:24} {args.datasets / elapsed:8.0f} items/s  ({elapsed:.1f} s; {counts})",
                      flush=True)
            store.engine.dispose()
    if len(first_runs) == 2:
        print(f"PostgreSQL's first run takes {first_runs['postgresql'] / first_runs['sqlite']:.2f}x SQLite's "
              "(target <= 2x)")


if __name__ == "__main__":
    main()
