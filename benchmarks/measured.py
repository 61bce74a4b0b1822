"""Running `harvest` measured: GNU time's wall clock and peak RSS, strace's every connect() (the addresses
contacted), and one report line per case (benchmarks/hostile_benchmark.py, hostile_conditions.py)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def measured(command: list[str], directory: Path, name: str = "") -> list[str]:
    """The command run under GNU time (wall clock, peak RSS) and strace (every connect()), into `directory`."""
    return ["/usr/bin/time", "-v", "-o", str(directory / f"time{name}"), "strace", "-f", "--seccomp-bpf", "-qq",
            "-e", "trace=connect", "-e", "signal=none", "-o", str(directory / f"strace{name}"), *command]


@dataclass
class Measure:
    """What GNU time and strace saw of one measured process."""

    wall: float
    rss: float  # MB
    addresses: list[str]

    @classmethod
    def read(cls, directory: Path, name: str = "") -> Measure:
        timing = (directory / f"time{name}").read_text()
        wall = _clock(re.search(r"Elapsed \(wall clock\) time.*: (\S+)", timing)[1])
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing)[1]) / 1024
        addresses = sorted({v4 or v6 for v4, v6 in ADDRESS.findall((directory / f"strace{name}").read_text())})
        return cls(wall, rss, addresses)


def harvest(program: str, arguments: list[str], env: dict[str, str],
            measure_in: Path | None = None) -> subprocess.CompletedProcess:
    command = [program, *arguments, "--json"]
    return subprocess.run(measured(command, measure_in) if measure_in else command, env=env, capture_output=True,
                          text=True, timeout=1800)


def job_of(result: subprocess.CompletedProcess) -> dict[str, Any]:
    """The job a `harvest run --json` printed, or what it said instead."""
    if result.stdout.strip():
        return json.loads(result.stdout)  # type: ignore[no-any-return]
    return {"status": f"exit {result.returncode}", "errors": [{"message": result.stderr[-300:]}]}


def line(name: str, job: dict[str, Any], measure: Measure, requests: int | str, note: str = "") -> str:
    """One line of the report: the case, what its job did, wall time, peak RSS, requests, addresses connected to."""
    items = job.get("items", [])
    done = sum(item["status"] == "done" for item in items) if items else job.get("done", 0)
    archived = sum(item["status"] == "archived" for item in items)
    error = note or (job["errors"][0]["message"] if job.get("errors") else "")
    return (f"{name:28} {job['status']:12} done {done:>5} archived {archived:>3}  {measure.wall:7.2f} s "
            f"{measure.rss:7.1f} MB  {requests:>6} requests  connects: {','.join(measure.addresses) or '-':22} "
            f"{_short(error)}")


def _clock(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _short(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."
