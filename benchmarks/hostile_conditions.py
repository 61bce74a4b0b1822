"""Hostile conditions of the machine, for benchmarks/hostile_benchmark.py: a full disk, a store locked by another
process, a Redis restart under two workers, a source pointed elsewhere holding a secret. Each is run for real
(a tmpfs mount, a SQLite write transaction, redis-server stopped and started again, two catalog servers),
measured like the hostile cases (GNU time, strace), and reported one line per measured run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.measured import Measure, harvest, job_of, line, measured
from harvesters.models import FINISHED_JOB_STATUSES
from harvesters.store import Store
from tests.servers.hostile import HostileServer
from tests.servers.redis_server import RedisServer
from tests.servers.store_faults import LockHolder, grow_tmpfs, mount_tmpfs, unmount
from tests.servers.workers import children, wait_for

Condition = Callable[[str, HostileServer, Path, str], Iterator[str]]
CATALOG = "/hydra/catalog.ttl?total=2000&page_size=200"


def requests_during(server: HostileServer, run: Callable[[], object]) -> int:
    seen = len(server.requests)
    run()
    return len(server.requests) - seen


def disk_full(name: str, server: HostileServer, directory: Path, program: str) -> Iterator[str]:
    """The store on a 1 MB tmpfs: the run fails "Disk full"; then the tmpfs grows and the next run completes."""
    mount = directory / "small"
    mount.mkdir()
    if refused := mount_tmpfs(mount, "1m"):
        yield f"{name:28} skipped: mounting a tmpfs is not permitted ({refused})"
        return
    try:
        env = os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{mount / 'harvest.db'}"}
        arguments = ["run", server.url + CATALOG, "--backend", "dcat"]
        results = []
        for label in (name, f"{name}, then freed"):
            count = requests_during(server, lambda: results.append(harvest(program, arguments, env, directory)))
            yield line(label, job_of(results[-1]), Measure.read(directory), count)
            grow_tmpfs(mount)
    finally:
        unmount(mount)


def store_locked(name: str, server: HostileServer, directory: Path, program: str) -> Iterator[str]:
    """Another process holds the store's write lock for 3 s mid-run (busy timeout 1 s): the run fails saying so;
    the next run completes."""
    database = directory / "harvest.db"
    env = os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{database}?timeout=1"}
    arguments = ["run", server.url + CATALOG + "&delay=1", "--backend", "dcat", "--json"]
    seen = len(server.requests)
    run = subprocess.Popen(measured([program, *arguments], directory), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    store = Store(f"sqlite:///{database}")
    wait_for(lambda: database.exists() and any(store.count_items(job.id) for job in store.list_jobs()), 120,
             "the first items")
    holder = LockHolder(str(database))
    time.sleep(3)
    holder.release()
    out, err = run.communicate(timeout=600)
    yield line(name, job_of(subprocess.CompletedProcess(run.args, run.returncode, out, err)), Measure.read(directory),
               len(server.requests) - seen)
    source = store.list_sources()[0].id
    results = []
    count = requests_during(server, lambda: results.append(harvest(program, ["run", source], env, directory)))
    yield line(f"{name}, then released", job_of(results[-1]), Measure.read(directory), count)


def redis_restart(name: str, server: HostileServer, directory: Path, program: str) -> Iterator[str]:
    """A job on two workers; redis-server is stopped for 6 s mid-job and started again, empty. Measured: the
    workers (peak RSS of the larger, connects of both); wall time from launch to the job's end."""
    with RedisServer() as redis:
        env = os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{directory / 'harvest.db'}",
                            "HARVEST_REDIS_URL": redis.url, "HARVEST_HEARTBEAT_INTERVAL": "0.3",
                            "HARVEST_HEARTBEAT_TIMEOUT": "3", "HARVEST_BATCH_SIZE": "25"}
        store = Store(env["HARVEST_DATABASE_URL"])
        url = server.url + "/hydra/catalog.ttl?total=600&page_size=50&delay=0.5"
        harvest(program, ["source", "add", name, url, "--backend", "dcat"], env).check_returncode()
        workers = [subprocess.Popen(measured([program, "worker"], directory, str(n)), env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(2)]
        seen, started = len(server.requests), time.monotonic()
        try:
            job_id = json.loads(harvest(program, ["launch", name], env).stdout)["id"]
            wait_for(lambda: store.count_items(job_id, "done") >= 50, 120, "the first batches")
            redis.restart(down_for=6)

            def swept_until_finished() -> bool:
                subprocess.run([program, "sweep"], env=env, capture_output=True, timeout=120)
                return store.job_row(job_id).status in FINISHED_JOB_STATUSES

            wait_for(swept_until_finished, 300, "the job to end", interval=0.5)
            wall = time.monotonic() - started
            alive = sum(worker.poll() is None for worker in workers)
        finally:
            for worker in workers:  # SIGTERM to the worker itself, under time and strace
                for pid in (grandchild for child in children(worker.pid) for grandchild in children(child)):
                    os.kill(pid, signal.SIGTERM)
                worker.wait(60)
        job = store.get_job(job_id).to_json()
    measures = [Measure.read(directory, str(n)) for n in range(2)]
    combined = Measure(wall, max(measure.rss for measure in measures),
                       sorted({address for measure in measures for address in measure.addresses}))
    resumed = sum(error["message"].startswith("Resumed") for error in job["errors"])
    note = f"{alive} of 2 workers alive after the restart; {resumed} resume(s) by the sweeper"
    yield line(name, job, combined, len(server.requests) - seen, note)


def secret_moved(name: str, server: HostileServer, directory: Path, program: str) -> Iterator[str]:
    """A CKAN source holding an api_key, pointed at another server: that server never receives the key."""
    env = os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{directory / 'harvest.db'}",
                        "HARVEST_SECRET_KEY": Fernet.generate_key().decode()}
    config = json.dumps({"extra_configs": [{"key": "api_key", "value": "ckan-token-8f3a91c2"}]})
    harvest(program, ["source", "add", name, server.url + "/ckan/total=30", "--backend", "ckan", "--config", config],
            env).check_returncode()
    harvest(program, ["run", name], env).check_returncode()
    with HostileServer() as elsewhere:
        harvest(program, ["source", "update", name, "--url", elsewhere.url + "/ckan/total=30"], env).check_returncode()
        job = job_of(harvest(program, ["run", name], env, directory))
        keyed = sum(any(header.lower() == "authorization" for header in request.headers)
                    for request in elsewhere.requests)
        note = f"the key went to the new server in {keyed} of {len(elsewhere.requests)} requests"
        yield line(name, job, Measure.read(directory), len(elsewhere.requests), note)


CONDITIONS: dict[str, Condition] = {"disk-full": disk_full, "store-locked": store_locked,
                                    "redis-restart": redis_restart, "secret-moved": secret_moved}
