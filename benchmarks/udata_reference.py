"""udata's own DCAT parse + map, timed on a served catalog: the reference our harvest is compared with.

    .cache/venvs/udata/bin/python benchmarks/udata_reference.py URL

Runs INSIDE the udata virtualenv the test suite builds (tests/servers/udata_portal.py), on mongomock
(tests/servers/udata_app.py's settings, its licenses seeded so that udata can guess them). Reads every
page of the catalog first (Hydra next links, not timed), then times what udata's DCAT backend does per
page: `Graph.parse`, then `dataset_from_rdf` for each dataset node (dry run: nothing is saved).
Prints one JSON line: {"datasets": N, "seconds": S}.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "servers"))
import udata_app  # noqa: E402 - found through the path above

HYDRA_NEXT = "http://www.w3.org/ns/hydra/core#next"


def fetch_pages(url: str) -> list[str]:
    from rdflib import Graph, URIRef

    pages: list[str] = []
    session = requests.Session()
    while url and len(pages) < 10_000:
        text = session.get(url, timeout=60).text
        pages.append(text)
        nexts = list(Graph().parse(data=text, format="xml").objects(predicate=URIRef(HYDRA_NEXT)))
        url = str(nexts[0]) if nexts else ""
    return pages


def main() -> None:
    from udata.app import create_app, standalone

    url = sys.argv[1]
    pages = fetch_pages(url)
    app = standalone(create_app(override=udata_app.make_settings(tempfile.mkdtemp(prefix="udata-bench-"))))
    udata_app.seed(app)
    from rdflib import Graph
    from udata.core.dataset.rdf import dataset_from_rdf
    from udata.rdf import DCAT, RDF, namespace_manager

    count = 0
    with app.app_context():
        start = time.perf_counter()
        for text in pages:
            graph = Graph(namespace_manager=namespace_manager)
            graph.parse(data=text, format="xml")
            for node in set(graph.subjects(RDF.type, DCAT.Dataset)):
                dataset_from_rdf(graph, node=node, dryrun=True)
                count += 1
        elapsed = time.perf_counter() - start
    print(json.dumps({"datasets": count, "seconds": elapsed}))


if __name__ == "__main__":
    main()
