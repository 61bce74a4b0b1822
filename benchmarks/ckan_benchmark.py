"""Gather and map throughput of the CKAN backend on a generated portal served over local HTTP.

    .venv/bin/python -m benchmarks.ckan_benchmark [--datasets 10000] [--rows 1000]

Gather: package_search pages fetched from a CatalogServer on 127.0.0.1 and cut into records (wall time, so
it includes the server generating and sending the pages). Map: each record stored as JSON, read back (as the
SQL store does) and mapped, license guessed against the bundled list (CPU time).
"""

from __future__ import annotations

import argparse
import json
import time

from backends.base import BackendContext
from backends.ckan import CkanBackend
from harvesters.http import Http
from harvesters.licenses import load_license_file
from tests.servers.catalog import CatalogServer
from tests.test_ckan import SEARCH, ckan_package, ckan_portal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    with CatalogServer() as server:
        server.handle(SEARCH, ckan_portal([ckan_package(n) for n in range(args.datasets)]))
        config = CkanBackend.validate_config({"extra_configs": [{"key": "rows", "value": args.rows}]})
        backend = CkanBackend(server.url, config, BackendContext(Http(), load_license_file()))
        start = time.perf_counter()
        records = list(backend.gather())
        gathered = time.perf_counter() - start
        requests = len(server.requests)
    start = time.process_time()
    for record in records:
        record.data = json.loads(json.dumps(record.data))
        backend.map(record)
    mapped = time.process_time() - start
    print(f"datasets: {len(records)}  listing requests: {requests}")
    print(f"gather:   {gathered:.2f} s wall  ({len(records) / gathered:,.0f} datasets/s)")
    print(f"map:      {mapped:.2f} s CPU   ({len(records) / mapped:,.0f} datasets/s)")


if __name__ == "__main__":
    main()
