"""Real `harvest worker` and `harvest scheduler` processes for tests, killable like a lost machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from harvesters.models import FINISHED_JOB_STATUSES, HarvestJob
from harvesters.store import Store

HARVEST = str(Path(sys.executable).with_name("harvest"))


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (an RQ worker's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class Processes:
    """`harvest` subprocesses sharing the test's environment (store, Redis, timings)."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{args[0]}-{len(self.running)}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen([HARVEST, *args], env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.running.append(process)
        return process

    def logs(self, lines: int = 30) -> str:
        """The last lines each process printed, to explain a failure."""
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in sorted(self.log_dir.glob("*.log")))

    def worker(self) -> subprocess.Popen[bytes]:
        return self.start("worker")

    def kill_machine(self, process: subprocess.Popen[bytes]) -> list[int]:
        """SIGKILL a worker and its work horse at once, as when its machine is lost; return the pids."""
        victims = [process.pid, *children(process.pid)]
        for pid in victims:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        return victims

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_machine(process)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for process in self.running:
            self.stop(process)


def listening_sockets(port: int) -> int:
    """How many sockets listen on this TCP port of the machine (IPv4 and IPv6; SO_REUSEPORT lets several)."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:] if table.exists() else []:
            local, state = line.split()[1], line.split()[3]
            count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port  # 0A: LISTEN
    return count


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll until `condition()` is true; fail the test naming `what` after `timeout` seconds (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_until_finished(store: Store, job_id: str, processes: Processes | None = None,
                        timeout: float = 180) -> HarvestJob:
    def finished() -> bool:
        return store.job_row(job_id).status in FINISHED_JOB_STATUSES

    try:
        wait_for(finished, timeout, f"job {job_id} to finish")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{processes.logs() if processes else ''}") from None
    return store.get_job(job_id)
