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
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.hostile_conditions import CONDITIONS
from benchmarks.measured import Measure, harvest, job_of, line
from tests.servers.hostile import HostileServer

HARVEST = str(Path(sys.executable).with_name("harvest"))  # another checkout's `harvest` compares before/after


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
    job = job_of(harvest(program, ["run", case.name], env, measure_in=directory))
    return line(case.name, job, Measure.read(directory), len(server.requests) - seen)


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
        for name, condition in CONDITIONS.items():  # conditions of the machine: store, Redis, secrets
            if args.only and name not in args.only:
                continue
            with tempfile.TemporaryDirectory() as directory:
                for reported in condition(name, server, Path(directory), args.harvest):
                    print(reported, flush=True)


if __name__ == "__main__":
    main()
