"""Resources across runs: ids kept (by distribution URI, else URL and title), vanished ones removed."""

from __future__ import annotations

from tests.helpers import Cli
from tests.servers.catalog import CatalogServer

CATALOG = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://data.test.org/d> a dcat:Dataset ; dct:title "Layers" ; dct:identifier "d" ;
  dcat:distribution {distributions} .
"""
FILE = "<http://data.test.org/dist/file> a dcat:Distribution ; dcat:downloadURL <{url}>"
LAYER = ("[ a dcat:Distribution ; dct:title \"{title}\" ; dcat:accessURL <http://data.test.org/wms> ; "
         "dcat:accessService [ a dcat:DataService ; dct:conformsTo <http://www.opengeospatial.org/standards/wms> ] ]")
ARCHIVE = "<http://data.test.org/dist/archive> a dcat:Distribution ; dcat:downloadURL <http://data.test.org/all.zip>"


def catalog(*distributions: str) -> str:
    """A one-dataset Turtle catalog; described URI distributions are appended as their own statements."""
    links, statements = [], []
    for distribution in distributions:
        if distribution.startswith("<"):
            uri = distribution.split(" ", 1)[0]
            links.append(uri)
            statements.append(distribution + " .")
        else:
            links.append(distribution)
    return CATALOG.format(distributions=", ".join(links)) + "\n".join(statements)


def resources(cli: Cli) -> dict[str, dict]:
    (dataset,) = cli.json("datasets", "list")
    return {resource["title"]: resource for resource in dataset["resources"]}


def test_resources_keep_their_ids_and_vanished_ones_are_removed(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.ttl", catalog(
        FILE.format(url="http://data.test.org/v1.csv"), LAYER.format(title="Roads"), LAYER.format(title="Rivers"),
        ARCHIVE), "text/turtle")
    cli.json("run", url, "--backend", "dcat")
    first = resources(cli)
    assert sorted(first) == ["Rivers", "Roads", "all.zip", "v1.csv"]
    assert {first["Roads"]["url"], first["Rivers"]["url"]} == {f"{catalog_server.url}/wms"}
    assert len({resource["id"] for resource in first.values()}) == 4

    catalog_server.serve("/catalog.ttl", catalog(
        LAYER.format(title="Rivers"), FILE.format(url="http://data.test.org/v2.csv"), LAYER.format(title="Roads"),
    ), "text/turtle")
    job = cli.json("run", url, "--backend", "dcat")
    assert job["items"][0]["logs"][-1]["message"] == "Dataset updated"
    second = resources(cli)
    assert sorted(second) == ["Rivers", "Roads", "v2.csv"]  # the archive vanished upstream: removed
    assert second["v2.csv"]["id"] == first["v1.csv"]["id"]  # same distribution URI, new URL
    assert second["Roads"]["id"] == first["Roads"]["id"]  # one URL for two layers: matched by title
    assert second["Rivers"]["id"] == first["Rivers"]["id"]
    assert (second["Roads"]["type"], second["Roads"]["format"]) == ("api", "wms")
