"""The fixed cost of a `harvest` command: loading it, and the small harvests it dominates.

    .venv/bin/python -m benchmarks.startup_benchmark [--repeat 7] [--sizes 100 2000]

Each figure is the median of `--repeat` processes, as wall time and CPU time (user + system, the process and
the helpers it forked; the steadier of the two on a busy machine): `python -c "import harvesters.cli"`,
`harvest --version` (loading, the command line parsed, exit) and `harvest backends --json`; then per size, a
`harvest run URL --backend dcat` (its report to /dev/null, as in benchmarks/harvest_benchmark.py) into a fresh
SQLite store (its first run) and the unchanged re-run of that store, on a generated catalog
(benchmarks/dcat_catalog.py, served by its own process, every page asked for once beforehand). Modules are
compiled once beforehand, as in use. The load average is printed beside each line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.dcat_catalog import catalog_url
from benchmarks.harvest_benchmark import ENVIRONMENT, HARVEST, catalog_server, warm_up
from harvesters.store import Store


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float


def timed(command: list[str], env: dict[str, str]) -> Timed:
    """One process run to its end: its wall time and the CPU time of it and its children (wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}")
    return Timed(wall, usage.ru_utime + usage.ru_stime)


def median(runs: list[Timed]) -> Timed:
    return Timed(statistics.median(run.wall for run in runs), statistics.median(run.cpu for run in runs))


def line(label: str, figure: Timed) -> None:
    print(f"  {label:34} {figure.wall * 1000:6.0f} ms wall  {figure.cpu * 1000:6.0f} ms CPU   "
          f"(load {os.getloadavg()[0]:.1f})", flush=True)


def counts(database: Path) -> dict[str, int]:
    """The item counts of the store's last job, which must have ended done."""
    store = Store(f"sqlite:///{database}")
    try:
        [job] = store.list_jobs(limit=1)
        if job.status != "done":
            raise SystemExit(f"the harvest ended {job.status}: {job.errors[:3]}")
        return {key: n for key, n in store.summary(job.id).items() if n}
    finally:
        store.engine.dispose()


def harvests(url: str, size: int, repeat: int, directory: Path) -> tuple[Timed, Timed]:
    """First runs into fresh stores, and the unchanged re-run of each: their medians."""
    first: list[Timed] = []
    again: list[Timed] = []
    for attempt in range(repeat):
        database = directory / f"{size}-{attempt}.db"
        env = {**ENVIRONMENT, "HARVEST_DATABASE_URL": f"sqlite:///{database}"}
        command = [HARVEST, "run", url, "--backend", "dcat"]
        first.append(timed(command, env))
        again.append(timed(command, env))
        if counts(database) != {"unchanged": size}:
            raise SystemExit(f"the re-run of {url} was not all unchanged: {counts(database)}")
    return median(first), median(again)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    subprocess.run([HARVEST, "backends"], stdout=subprocess.DEVNULL, env=ENVIRONMENT, check=True)  # compiled
    with tempfile.TemporaryDirectory(prefix="harvest-startup-") as directory:
        env = {**ENVIRONMENT, "HARVEST_DATABASE_URL": f"sqlite:///{directory}/empty.db"}
        for label, command in (("import harvesters.cli", [sys.executable, "-c", "import harvesters.cli"]),
                               ("harvest --version", [HARVEST, "--version"]),
                               ("harvest backends --json", [HARVEST, "backends", "--json"])):
            line(label, median([timed(command, env) for _ in range(args.repeat)]))
        with catalog_server() as server:
            for size in args.sizes:
                url = catalog_url(server, size)
                warm_up(url, size)
                first, again = harvests(url, size, args.repeat, Path(directory))
                line(f"run, {size} datasets, first", first)
                line(f"run, {size} datasets, unchanged", again)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
