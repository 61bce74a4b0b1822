"""Parse + map throughput of the DCAT backend on a generated 10,000-dataset paged RDF/XML catalog.

    .venv/bin/python -m benchmarks.dcat_benchmark [--datasets 10000] [--page-size 100] [--profile]

Times (CPU time of this single-threaded process, so other load on the machine does not count) what
a gather-and-process does per page once the bytes are fetched: parse the page (pyoxigraph), index
it, cut one record per dataset, store it as JSON and read it back (as the SQL store does), and map
it to a udata dataset (license guessed against the bundled license list).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time

from pyoxigraph import RdfFormat

from backends.dcat.mapping import map_dataset
from backends.dcat.rdf import Page
from backends.dcat.records import page_records
from benchmarks.dcat_catalog import pages
from harvesters.licenses import load_license_file

BASE = "http://catalog.example.org"


def run(documents: list[bytes]) -> dict[str, float]:
    licenses = load_license_file()
    timings = {"parse": 0.0, "records": 0.0, "json": 0.0, "map": 0.0}
    count = licensed = 0
    for number, content in enumerate(documents, 1):
        start = time.process_time()
        page = Page(content, RdfFormat.RDF_XML, f"{BASE}/catalog.rdf?page={number}")
        parsed = time.process_time()
        records = list(page_records(page))
        cut = time.process_time()
        stored = [json.loads(json.dumps(record.data)) for record in records]
        serialized = time.process_time()
        for data in stored:
            mapped = map_dataset(data, "fr", licenses)
            licensed += mapped.dataset.license is not None
        count += len(records)
        end = time.process_time()
        timings["parse"] += parsed - start
        timings["records"] += cut - parsed
        timings["json"] += serialized - cut
        timings["map"] += end - serialized
    timings["datasets"] = count
    timings["licensed"] = licensed
    return timings


def report(timings: dict[str, float], size: int) -> None:
    count = int(timings["datasets"])
    work = timings["parse"] + timings["records"] + timings["map"]
    total = work + timings["json"]
    print(f"catalog: {count} datasets, {size / 1e6:.1f} MB of RDF/XML; {int(timings['licensed'])} licenses guessed")
    for step in ("parse", "records", "json", "map"):
        print(f"  {step:<8} {timings[step]:7.2f} s  ({timings[step] / count * 1e6:7.1f} µs/dataset)")
    print(f"parse+map throughput:            {count / work:8.0f} datasets/s (target >= 1000)")
    print(f"with the JSON round trip stored: {count / total:8.0f} datasets/s")
    if "wall" in timings:
        print(f"wall clock, all steps:           {count / timings['wall']:8.0f} datasets/s (lower on a busy machine)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()
    documents = pages(BASE, args.datasets, args.page_size)
    if args.profile:
        profiler = cProfile.Profile()
        timings = profiler.runcall(run, documents)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    else:
        wall = time.perf_counter()
        timings = run(documents)
        timings["wall"] = time.perf_counter() - wall
    report(timings, sum(len(document) for document in documents))


if __name__ == "__main__":
    main()
