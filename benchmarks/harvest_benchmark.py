"""Our whole `harvest run` beside udata's own DCAT parse + map, on generated DCAT-AP RDF/XML catalogs.

    .venv/bin/python -m benchmarks.harvest_benchmark [--sizes 2000 10000] [--large 100000] [--no-udata]

Real parts: the generated catalog (benchmarks/dcat_catalog.py: Hydra pages of 100 datasets, made when
asked for) served over HTTP on 127.0.0.1 by its own process; each harvest is a `harvest run URL
--backend dcat --json` process into a fresh SQLite store, timed from start to exit, its peak RSS read
from the kernel (wait4). udata's side runs in the udata virtualenv the test suite builds
(benchmarks/udata_reference.py: rdflib parse + `dataset_from_rdf`, no writes, after the pages were read).

Figures, per size: udata's parse + map, our first run (and the ratio), an unchanged re-run (share of the
first run, dataset writes), the same catalog with every dataset titled alike; then the large catalog's
peak RSS beside the 10,000-dataset run's. The machine's other load counts: it is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks.dcat_catalog import CatalogHandler, catalog_url
from harvesters.store import Store

ROOT = Path(__file__).resolve().parents[1]
HARVEST = str(Path(sys.executable).with_name("harvest"))
# as in use: the harvest's modules compiled once (by the warm-up), not again by every run
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    summary: dict[str, int]


@contextmanager
def catalog_server() -> Iterator[str]:
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.dcat_catalog"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(10)


def harvest(url: str, database: Path) -> Run:
    """One `harvest run` process: its wall time, peak RSS and item counts (read back from its store)."""
    env = {**ENVIRONMENT, "HARVEST_DATABASE_URL": f"sqlite:///{database}"}
    start = time.perf_counter()
    process = subprocess.Popen([HARVEST, "run", url, "--backend", "dcat"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    store = Store(f"sqlite:///{database}")
    [job] = store.list_jobs(limit=1)
    store.engine.dispose()
    if os.waitstatus_to_exitcode(status) != 0 or job.status != "done":
        raise SystemExit(f"harvest of {url} ended {job.status}: {job.errors[:3]}")
    return Run(elapsed, usage.ru_maxrss / 1024, {key: n for key, n in store.summary(job.id).items() if n})


def warm_up(url: str, total: int) -> None:
    """Ask for every page once, so that the server's work (making the pages) stays out of the timings."""
    with requests.Session() as session:
        for page in range(1, -(-total // CatalogHandler.page_size) + 1):
            session.get(url.replace("?page=1", f"?page={page}"), timeout=60).raise_for_status()


def udata_reference(url: str) -> float | None:
    """Seconds udata's parse + map takes on the catalog, or None without its virtualenv."""
    try:
        from tests.servers.udata_portal import ensure_udata_venv
        from tests.servers.venvs import venv_python

        python = venv_python(ensure_udata_venv())
    except Exception as error:  # no network to build it, no udata: say so and go on
        print(f"  (udata's virtualenv unavailable: {error})")
        return None
    answer = subprocess.run([str(python), str(ROOT / "benchmarks" / "udata_reference.py"), url], capture_output=True,
                            text=True, timeout=3600, check=True)
    return float(json.loads(answer.stdout.splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--large", type=int, default=100_000, help="datasets of the memory run (0: none)")
    parser.add_argument("--no-udata", action="store_true", help="leave udata's side out")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    subprocess.run([HARVEST, "backends"], stdout=subprocess.DEVNULL, env=ENVIRONMENT, check=True)  # compiled, cached
    rss: dict[int, float] = {}
    with catalog_server() as server, tempfile.TemporaryDirectory(prefix="harvest-bench-") as directory:
        for size in args.sizes:
            url, alike_url = catalog_url(server, size), catalog_url(server, size, same_titles=True)
            warm_up(url, size)
            warm_up(alike_url, size)
            print(f"--- {size} datasets (load average {os.getloadavg()[0]:.1f})", flush=True)
            reference = None if args.no_udata else udata_reference(url)
            database = Path(directory) / f"distinct-{size}.db"
            first = harvest(url, database)
            rss[size] = first.peak_rss_mb
            rate = size / first.seconds
            print(f"  ours, first run:       {first.seconds:7.2f} s  {rate:7.0f} datasets/s  "
                  f"peak RSS {first.peak_rss_mb:.0f} MB  {first.summary}")
            if reference is not None:
                print(f"  udata parse + map:     {reference:7.2f} s  {size / reference:7.0f} datasets/s  "
                      f"-> ours is {reference / first.seconds:.1f}x faster (target >= 10x)")
            again = harvest(url, database)
            writes = again.summary.get("created", 0) + again.summary.get("updated", 0)
            print(f"  ours, unchanged rerun: {again.seconds:7.2f} s  {again.seconds / first.seconds:6.0%} of the first "
                  f"run (target <= 25%), {writes} dataset writes  {again.summary}")
            alike = harvest(alike_url, Path(directory) / f"same-{size}.db")
            print(f"  ours, titles alike:    {alike.seconds:7.2f} s  {alike.seconds / first.seconds:6.2f}x the "
                  "distinct titles' time (target <= 1.3x)", flush=True)
        if args.large:
            warm_up(catalog_url(server, args.large), args.large)
            print(f"--- {args.large} datasets (load average {os.getloadavg()[0]:.1f})", flush=True)
            large = harvest(catalog_url(server, args.large), Path(directory) / "large.db")
            compared = max(rss) if rss else None
            versus = (f", {large.peak_rss_mb / rss[compared] - 1:+.0%} vs the {compared}-dataset run (target within "
                      "15%)") if compared else ""
            print(f"  ours, first run:       {large.seconds:7.2f} s  {args.large / large.seconds:7.0f} datasets/s  "
                  f"peak RSS {large.peak_rss_mb:.0f} MB (target <= 250 MB){versus}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
