"""Writes per second to the REAL udata (tests/servers/udata_portal.py: udata on mongomock) through the udata target.

    .venv/bin/python -m benchmarks.udata_writes [--datasets 60] [--limit 2]

On a generated DCAT catalog (benchmarks/dcat_catalog.py), unthrottled (the portal is the limit): a first harvest
(one POST per dataset), a second on changed content (one GET + one PUT per dataset), a third unchanged (no
write at all). Then a first harvest of another catalog paced at --limit writes per second, to show the pace holds.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter

from benchmarks.dcat_catalog import pages
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import UdataPortal
from tests.servers.catalog import CatalogServer
from tests.servers.udata_portal import UdataPortal as UdataServer

PAGE_SIZE = 100


def serve(server: CatalogServer, path: str, total: int, seed: int) -> str:
    base = server.url + path
    for number, content in enumerate(pages(base, total, PAGE_SIZE, seed), 1):
        server.serve(f"{path}/catalog.rdf?page={number}", content, "application/rdf+xml")
    return f"{base}/catalog.rdf?page=1"


def harvest(store: Store, source_id: str) -> tuple[Counter[str], float]:
    harvester = Harvester(store)
    assert isinstance(harvester.portal, UdataPortal)
    start = time.perf_counter()
    job = harvester.run(store.get_source(source_id))
    elapsed = time.perf_counter() - start
    assert job.status == "done", (job.status, job.errors[:3], [i.errors for i in job.items if i.errors][:3])
    return harvester.portal.client.writes, elapsed


def report(label: str, writes: Counter[str], elapsed: float, total: int) -> None:
    count = sum(writes.values())
    print(f"{label:<34} {total:>5} datasets {elapsed:7.1f} s  {count:>5} writes "
          f"{count / elapsed:6.1f} writes/s  {total / elapsed:6.1f} datasets/s  {dict(writes)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=60)
    parser.add_argument("--limit", type=float, default=2.0, help="writes per second of the paced run")
    args = parser.parse_args()
    with UdataServer() as udata, CatalogServer() as server, tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/harvest.db"
        os.environ.update(HARVEST_DATABASE_URL=database, HARVEST_UDATA_URL=udata.url,
                          HARVEST_UDATA_API_KEY=udata.api_key, HARVEST_UDATA_WRITES_PER_SECOND="1000")
        store = Store(database)
        url = serve(server, "/a", args.datasets, seed=0)
        source = register_source(store, name="a", url=url, backend="dcat", organization=udata.org_id)
        report("create (unthrottled)", *harvest(store, source.id), args.datasets)
        serve(server, "/a", args.datasets, seed=1)
        report("update (unthrottled)", *harvest(store, source.id), args.datasets)
        report("unchanged", *harvest(store, source.id), args.datasets)
        os.environ["HARVEST_UDATA_WRITES_PER_SECOND"] = str(args.limit)
        paced = register_source(store, name="b", url=serve(server, "/b", args.datasets, seed=2), backend="dcat",
                                organization=udata.org_id)
        report(f"create (paced at {args.limit:g}/s)", *harvest(store, paced.id), args.datasets)


if __name__ == "__main__":
    main()
