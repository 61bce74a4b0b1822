"""What each hostile case of tests/servers/hostile.py does to a real `harvest run`: the job, its wall time, its
peak RSS, and every address it connected to.

    .venv/bin/python -m benchmarks.hostile_benchmark [--only NAME ...] [--harvest PATH]

Each case runs the installed `harvest run URL --backend B --json` on a fresh SQLite store, under GNU
`/usr/bin/time -v` (wall clock, maximum resident set size) and `strace -f -e trace=connect` (every connect()
the process and its threads made: the proof that nothing but 127.0.0.1 and ::1 was contacted). The hostile
server runs in this process on 127.0.0.1. Settings are the defaults unless the case says otherwise. One line
per case: name, job status, items done / archived, wall seconds, peak RSS (MB), requests the server saw,
addresses connected to, the job's first error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.hostile import HostileServer

HARVEST = str(Path(sys.executable).with_name("harvest"))  # another checkout's `harvest` compares before/after
ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


@dataclass
class Case:
    name: str
    path: str  # on the hostile server; {port} is its port
    backend: str = "dcat"
    env: dict[str, str] = field(default_factory=dict)
    config: dict[str, object] | None = None
    before: str | None = None  # a path harvested first (not measured), on the same source


CASES = [
    *(Case(f"short-page-{backend}", short, backend, {"HARVEST_AUTOARCHIVE_GRACE_DAYS": "0"}, config, before=full)
      for backend, full, short, config in [
          ("dcat", "/hydra/catalog.ttl?total=300", "/hydra/catalog.ttl?total=300&served=240", None),
          ("ckan", "/ckan/total=300", "/ckan/total=300,served=240", {"extra_configs": [{"key": "rows", "value": 100}]}),
          ("ods", "/ods/total=300", "/ods/total=300,served=240", None),
          ("csw-iso-19139", "/csw?total=300", "/csw?total=300&served=240", None)]),
    Case("empty-next-page", "/hydra/catalog.ttl?total=300&served=200&empty=1", env={
        "HARVEST_AUTOARCHIVE_GRACE_DAYS": "0"}, before="/hydra/catalog.ttl?total=300"),
    Case("lenient-page", "/lenient/catalog.ttl?broken=1"),
    Case("next-to-file", "/hydra/next?to=file:///etc/passwd"),
    Case("next-to-dev-zero", "/hydra/next?to=file:///dev/zero"),
    Case("redirect-to-file", "/redirect?to=file:///etc/passwd"),
    Case("redirect-to-localhost", "/redirect?to=http://localhost:{port}/hydra/catalog.ttl",
         config={"extra_configs": [{"key": "allowed_hosts", "value": "localhost"}]}),
    Case("non-web-resources", "/resources/catalog.ttl"),
    Case("slow-body-1-byte-per-s", "/slow?bytes_per_second=1&seconds=60", env={"HARVEST_HTTP_TOTAL_TIMEOUT": "10"}),
    Case("slow-headers-1-byte-per-s", "/slow?bytes_per_second=1&seconds=60&phase=headers",
         env={"HARVEST_HTTP_TOTAL_TIMEOUT": "10"}),
    Case("big-body-300MB", "/big?size=300000000"),
    Case("gzip-bomb-2GB", "/gzip-bomb?size=2000000000"),
    Case("endless-pager", "/endless"),
    Case("retry-after-3600", "/retry-after?seconds=3600"),
    Case("doctype-lowercase", "/doctype?case=lower"),
    Case("doctype-mixed-case", "/doctype?case=mixed"),
    Case("jsonld-lone-surrogate", "/jsonld/surrogate"),
]


def harvest(program: str, arguments: list[str], env: dict[str, str],
            measured: Path | None = None) -> subprocess.CompletedProcess:
    command = [program, *arguments, "--json"]
    if measured is not None:
        command = ["/usr/bin/time", "-v", "-o", str(measured / "time"), "strace", "-f", "--seccomp-bpf", "-qq",
                   "-e", "trace=connect", "-e", "signal=none", "-o", str(measured / "strace"), *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)


def run_case(case: Case, server: HostileServer, directory: Path, program: str) -> str:
    env = os.environ | {"HARVEST_DATABASE_URL": f"sqlite:///{directory / 'harvest.db'}"} | case.env
    port = server.url.rsplit(":", 1)[1]
    url = server.url + case.path.format(port=port)
    source = ["source", "add", case.name, server.url + case.before if case.before else url, "--backend", case.backend]
    if case.config:
        source += ["--config", json.dumps(case.config)]
    harvest(program, source, env).check_returncode()
    if case.before:
        harvest(program, ["run", case.name], env).check_returncode()
        harvest(program, ["source", "update", case.name, "--url", url], env).check_returncode()
    seen = len(server.requests)
    result = harvest(program, ["run", case.name], env, measured=directory)
    job = json.loads(result.stdout) if result.stdout.strip() else {"status": f"exit {result.returncode}",
                                                                     "errors": [{"message": result.stderr[-200:]}]}
    timing = (directory / "time").read_text()
    wall = _clock(re.search(r"Elapsed \(wall clock\) time.*: (\S+)", timing)[1])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing)[1]) / 1024
    addresses = sorted({v4 or v6 for v4, v6 in ADDRESS.findall((directory / "strace").read_text())})
    items = job.get("items", [])
    done = sum(item["status"] == "done" for item in items)
    archived = sum(item["status"] == "archived" for item in items)
    error = job["errors"][0]["message"] if job.get("errors") else ""
    return (f"{case.name:28} {job['status']:12} done {done:>5} archived {archived:>3}  {wall:7.2f} s "
            f"{rss:7.1f} MB  {len(server.requests) - seen:>6} requests  connects: {','.join(addresses) or '-':22} "
            f"{_short(error)}")


def _clock(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _short(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--harvest", default=HARVEST, help="the `harvest` command to measure (default: %(default)s)")
    args = parser.parse_args()
    if not shutil.which("strace") or not Path("/usr/bin/time").exists():
        raise SystemExit("needs GNU time and strace: apt-get install time strace")
    with HostileServer() as server:
        print(f"hostile server on {server.url}; harvest = {args.harvest}")
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            with tempfile.TemporaryDirectory() as directory:
                print(run_case(case, server, Path(directory), args.harvest), flush=True)


if __name__ == "__main__":
    main()
