"""Answers per second and latency of the HTTP API's listings under concurrent clients, against a real
`harvest serve` (uvicorn) on 127.0.0.1.

    .venv/bin/python -m benchmarks.listings_benchmark [--clients 50] [--seconds 10] [--sources 50] [--jobs 200]

A fresh SQLite store gets `--sources` sources and `--jobs` finished jobs spread over them; `harvest serve` runs
on it in its own process (then `--workers` of them); `--clients` clients, each with its own keep-alive connection,
list in turn the sources (`GET /sources/?page_size=50`, each with its last job) and one source's jobs
(`GET /source/ID/jobs/`) for `--seconds`. The clients are Python coroutines in one asyncio loop and, when it is
installed, wrk. Printed: answers per second, p50 / p99 / max latency, errors, the server's CPU use (and per
answer) and peak RSS, the clients' own CPU use (they run on the same machine and take their share of its CPUs),
and the load average of the machine at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from harvesters.clock import utcnow
from harvesters.sources import register_source
from harvesters.store import Store
from tests.servers.workers import children, listening_sockets

HARVEST = str(Path(sys.executable).with_name("harvest"))
PREFIX = "/api/1/harvest"


def fill(store: Store, sources: int, jobs: int) -> list[str]:
    """Sources with finished jobs (done, a few with errors), created a minute apart; their ids."""
    ids = []
    for n in range(sources):
        source = register_source(store, name=f"Source {n}", url=f"https://data{n}.example.org/catalog.ttl",
                                 backend="dcat", description="A catalog " * 20, schedule="@daily")
        ids.append(source.id)
    now = utcnow()
    for n in range(jobs):
        job_id = store.create_job(ids[n % sources])
        store.update_job(job_id, status="done" if n % 7 else "done-errors", started=now - timedelta(minutes=n + 1),
                         ended=now - timedelta(minutes=n), created=now - timedelta(minutes=n + 1))
        if n % 7 == 0:
            store.add_job_error(job_id, "Autoarchive refused: 120 of 200 datasets (60%) are no longer on the remote")
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, server: subprocess.Popen[bytes], processes: int) -> None:
    """Until each of the server's processes listens on the port and the server answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"harvest serve exited with {server.returncode}")
        if listening_sockets(port) >= processes:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit("harvest serve did not start within 30 s")


def tree(pid: int) -> list[int]:
    """The server's process and its children (uvicorn's workers)."""
    return [pid, *children(pid)]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the server's processes so far (/proc/PID/stat)."""
    total = 0
    for each in tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss(pid: int) -> float:
    """The peak resident set sizes of the server's processes so far, added up, in MB (VmHWM)."""
    total = 0
    for each in tree(pid):
        line = next(line for line in Path(f"/proc/{each}/status").read_text().splitlines() if line.startswith("VmHWM"))
        total += int(line.split()[1])
    return total / 1024


@dataclass
class Measured:
    """What a load generator saw: answers per second, latencies (p50, p99, max) and errors, and its own CPU use
    (seconds per second), which the server's machine gives to the clients and not to the server."""

    rate: float
    latencies: str
    client_cpu: float


WRK_SCRIPT = """
paths = {%s}
turn = 0
request = function()
  turn = turn + 1
  return wrk.format("GET", paths[turn %% #paths + 1])
end
"""


def with_wrk(port: int, paths: list[str], clients: int, seconds: float, directory: Path) -> Measured:
    """wrk (its C event loop, two threads for the `clients` connections) requesting these paths in turn."""
    script = directory / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{path}"' for path in paths))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script),
                           f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    quantiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    most = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)[1]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / seconds
    return Measured(rate, f"p50 {quantiles['50']:>8}   p99 {quantiles['99']:>8}   max {most:>8}   "
                          f"errors {errors[1] if errors else 0}", cpu)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[int(share * 1000) - 1] if len(values) > 1 else values[0]


async def one_client(port: int, paths: list[str], counting: asyncio.Event, deadline: float,
                     latencies: list[float]) -> int:
    """One client: its own keep-alive connection, a request after the other's answer until `deadline`; the
    latencies once `counting`, and the number of errors (a status other than 200, a broken connection)."""
    errors, turn = 0, 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while (started := time.perf_counter()) < deadline:
        path = paths[turn % len(paths)]
        turn += 1
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if (length := CONTENT_LENGTH.search(head)) is None:
                raise ConnectionError("an answer without a Content-Length")
            await asyncio.wait_for(reader.readexactly(int(length[1])), 30)
            failed = not head.startswith(b"HTTP/1.1 200 ")
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            failed = True
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if counting.is_set() and time.perf_counter() < deadline:
            latencies.append(time.perf_counter() - started)
            errors += failed
    writer.close()
    return errors


CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")


def with_asyncio(port: int, paths: list[str], clients: int, seconds: float, directory: Path) -> Measured:
    """Python clients in one asyncio loop (far less CPU than a thread each), each on its own connection, after
    one second of warm-up (not counted)."""

    async def run() -> tuple[list[float], int]:
        counting, latencies = asyncio.Event(), []
        deadline = time.perf_counter() + 1 + seconds
        tasks = [asyncio.create_task(one_client(port, paths[n % len(paths):] + paths[:n % len(paths)], counting,
                                                deadline, latencies)) for n in range(clients)]
        await asyncio.sleep(1)
        counting.set()
        return latencies, sum(await asyncio.gather(*tasks))

    started, cpu = time.perf_counter(), time.process_time()
    latencies, errors = asyncio.run(run())
    cpu = (time.process_time() - cpu) / (time.perf_counter() - started)
    latencies.sort()
    return Measured(len(latencies) / seconds, f"p50 {percentile(latencies, 0.5) * 1000:6.1f}ms   "
                                              f"p99 {percentile(latencies, 0.99) * 1000:6.1f}ms   "
                                              f"max {latencies[-1] * 1000:6.1f}ms   errors {errors}", cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="`harvest serve --workers`, each")
    parser.add_argument("--harvest", default=HARVEST, help="the `harvest` command to serve (default: %(default)s)")
    args = parser.parse_args()
    clients = {"asyncio": with_asyncio} | ({"wrk": with_wrk} if shutil.which("wrk") else {})
    print(f"{args.clients} clients, {args.sources} sources, {args.jobs} jobs, {os.cpu_count()} CPUs; listing sources "
          f"(page_size=50, with last jobs) and one source's jobs in turn for {args.seconds:g} s"
          + ("" if "wrk" in clients else " (wrk not installed: asyncio only)"))
    with tempfile.TemporaryDirectory(prefix="listings-bench-") as directory:
        url = f"sqlite:///{Path(directory) / 'harvest.db'}"
        store = Store(url)
        ids = fill(store, args.sources, args.jobs)
        store.engine.dispose()
        paths = [f"{PREFIX}/sources/?page_size=50"] + [f"{PREFIX}/source/{ident}/jobs/" for ident in ids[:10]]
        for workers in args.workers:
            for name, measure in clients.items():
                port = free_port()
                processes = ["--workers", str(workers)] if workers > 1 else []  # older checkouts serve one
                server = subprocess.Popen([args.harvest, "serve", "--port", str(port), *processes],
                                          env=os.environ | {"HARVEST_DATABASE_URL": url},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_until_serving(port, server, workers)
                    before, started = cpu_seconds(server.pid), time.perf_counter()
                    measured = measure(port, paths, args.clients, args.seconds, Path(directory))
                    cpu = (cpu_seconds(server.pid) - before) / (time.perf_counter() - started)
                    rss, load = peak_rss(server.pid), os.getloadavg()
                finally:
                    server.terminate()
                    server.wait(30)
                print(f"{workers} process(es), {name:7}: {measured.rate:7.1f} answers/s   {measured.latencies}   "
                      f"server CPU {cpu:.0%} of a core ({cpu / measured.rate * 1000:.2f} ms an answer), client CPU "
                      f"{measured.client_cpu:.0%}, server peak RSS {rss:.0f} MB   load average {load[0]:.2f} "
                      f"{load[1]:.2f} {load[2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
