"""Items per second of an inline harvest into the local catalog (SQLite), first run and unchanged re-run.

    .venv/bin/python -m benchmarks.pipeline_benchmark [--datasets 2000]

Real parts: the generated paged DCAT catalog (Turtle, hydra:next) over local HTTP, the whole pipeline
(gather, store the items, map, write to the local catalog, finalize) on a fresh SQLite store.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import paged_source


def timed_run(store: Store, source_id: str) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    job = Harvester(store).run(store.get_source(source_id))
    elapsed = time.perf_counter() - start
    if job.status != "done":
        raise SystemExit(f"job ended {job.status}: {job.errors}")
    return elapsed, store.summary(job.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, CatalogServer() as catalog:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        os.environ["HARVEST_DATABASE_URL"] = url
        store = Store(url)
        source = paged_source(store, catalog, args.datasets)
        for label in ("first run (creates)", "second run (unchanged)"):
            elapsed, summary = timed_run(store, source.id)
            counts = ", ".join(f"{key} {value}" for key, value in summary.items() if value)
            print(f"{label:24} {args.datasets / elapsed:8.0f} items/s  ({elapsed:.1f} s; {counts})")


if __name__ == "__main__":
    main()
