"""A store that cannot take writes: a full disk, a lock another process holds past the busy timeout.

The job ends `failed` saying so in plain words, its source is free to run again, the CLI prints no traceback, and
the next run (once space is freed, the lock released) completes with each dataset once.

The full disk is a real tmpfs mount of 1 MB holding the SQLite store (the tests run as root, as CI does). Where
mounting is not permitted, SQLite's `PRAGMA max_page_count` caps every connection instead, which makes SQLite
answer exactly "database or disk is full"; each test prints which one it used (`-s` shows it). The lock is held
by another process, a real `BEGIN IMMEDIATE` transaction on the same file.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli
from tests.servers.hostile import HostileServer
from tests.servers.store_faults import LockHolder, grow_tmpfs, mount_tmpfs, unmount
from tests.servers.workers import HARVEST, wait_for

DISK_SIZE = "1m"
PAGES_ALLOWED = 250  # SQLite pages (4 kB) of the store, in the fallback
DATASETS = 2000
LOCK_HELD = 3.0  # seconds, in a store whose busy timeout is 1 s


@dataclass
class SmallDisk:
    kind: str  # "tmpfs" or "max_page_count"
    database_url: str
    free: Callable[[], None]


@pytest.fixture
def small_disk(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    """A store that runs out of space within a harvest of 2,000 datasets (in place of the test's usual one), and a
    way to free space."""
    mount = tmp_path / "small"
    mount.mkdir()
    url = f"sqlite:///{mount / 'harvest.db'}"
    monkeypatch.setenv("HARVEST_DATABASE_URL", url)
    refused = mount_tmpfs(mount, DISK_SIZE)
    if refused is None:
        print(f"full disk: a real tmpfs of {DISK_SIZE} at {mount}")
        try:
            yield SmallDisk("tmpfs", url, lambda: grow_tmpfs(mount))
        finally:
            unmount(mount)
        return
    print(f"full disk: mounting a tmpfs is not permitted ({refused}); SQLite's max_page_count "
          f"caps the store at {PAGES_ALLOWED} pages instead")

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={PAGES_ALLOWED}")

    event.listen(Engine, "connect", cap)
    try:
        yield SmallDisk("max_page_count", url, lambda: event.remove(Engine, "connect", cap))
    finally:
        if event.contains(Engine, "connect", cap):
            event.remove(Engine, "connect", cap)


def catalog(server: HostileServer, delay: float = 0) -> str:
    return f"{server.url}/hydra/catalog.ttl?total={DATASETS}&page_size=200&delay={delay}"


def assert_each_dataset_once(store: Store) -> None:
    counts = Counter(dataset["harvest"]["remote_id"] for dataset in LocalCatalog(store).list_datasets())
    assert len(counts) == DATASETS and set(counts.values()) == {1}


def test_a_full_disk_fails_the_job_in_plain_words_and_the_next_run_completes(
    small_disk: SmallDisk, cli: Cli, hostile_server: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="harvesters.job_end")
    url = catalog(hostile_server)
    result = cli("run", url, "--backend", "dcat", expect=1)
    assert "Traceback" not in result.output
    store = Store(small_disk.database_url)
    [job] = store.list_jobs()
    assert job.status == "failed"
    [error] = [error.message for error in job.errors]
    assert error.startswith("Disk full: the store (")
    assert "has no space left to write (database or disk is full)" in error
    assert "Free some space, then run again" in error
    assert "Job error: Disk full: the store (" in " ".join(result.output.split())
    source = store.list_sources()[0]
    assert store.running_job(source.id) is None  # the source is not left running
    assert store.count_items(job.id, "done") < DATASETS  # it did stop midway
    # what follows any job's end (logs, metrics, notifications) follows this one's
    assert f"Job {job.id} of source {source.id} ended failed" in caplog.text

    small_disk.free()
    again = cli.json("run", url, "--backend", "dcat")
    assert again["status"] == "done"
    assert_each_dataset_once(store)


@pytest.fixture
def locked_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's SQLite store, waiting 1 s for a lock (instead of 30)."""
    url = f"{database_url}?timeout=1"
    monkeypatch.setenv("HARVEST_DATABASE_URL", url)
    return url


def test_a_store_locked_before_the_run_is_one_line(locked_url: str, cli: Cli, hostile_server: HostileServer) -> None:
    store = Store(locked_url)
    path = store.engine.url.database
    assert path is not None
    holder = LockHolder(path)
    try:
        result = cli("run", catalog(hostile_server), "--backend", "dcat", expect=1)
    finally:
        holder.release()
    assert result.output.strip().splitlines() == [
        f"Error: Store locked: another process has held a write lock on the store ({path}) for more than 1 s (the "
        "busy timeout; `?timeout=N` in HARVEST_DATABASE_URL changes it) (database is locked). Run again once that "
        "process is done."]
    assert cli.json("run", catalog(hostile_server), "--backend", "dcat")["status"] == "done"
    assert_each_dataset_once(store)


def test_a_lock_held_mid_job_fails_it_in_plain_words_and_the_next_run_completes(
    locked_url: str, hostile_server: HostileServer, tmp_path: Path
) -> None:
    store = Store(locked_url)
    path = store.engine.url.database
    assert path is not None
    run = subprocess.Popen([HARVEST, "run", catalog(hostile_server, delay=1), "--backend", "dcat"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(store.count_items(job.id) for job in store.list_jobs()), 60, "the first items")
        holder = LockHolder(path)
        time.sleep(LOCK_HELD)  # the job asks for the lock at its next page (every second) and waits 1 s for it
        holder.release()
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, out + err
    assert "Traceback" not in out + err
    [job] = store.list_jobs()
    assert job.status == "failed"
    [error] = [error.message for error in job.errors]
    assert error.startswith(f"Store locked: another process has held a write lock on the store ({path}) for more "
                            "than 1 s")
    assert "Store locked" in " ".join(out.split())
    assert store.running_job(job.source) is None

    again = subprocess.run([HARVEST, "run", job.source], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert_each_dataset_once(store)
