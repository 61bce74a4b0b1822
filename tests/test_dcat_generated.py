"""The generated DCAT-AP catalog of the benchmark, harvested through HTTP: paging in RDF/XML, every field mapped."""

from __future__ import annotations

from benchmarks.dcat_catalog import page_xml
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer, Reply, Request

TOTAL, PAGE_SIZE = 45, 20


def test_generated_paged_catalog_is_harvested_completely(cli: Cli, catalog_server: CatalogServer) -> None:
    def page(request: Request) -> Reply:
        number = int(request.query.get("page", "1"))
        return Reply(page_xml("http://data.test.org", number, PAGE_SIZE, TOTAL), "application/rdf+xml")

    url = catalog_server.handle("/catalog.rdf", page)
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    assert [request.target for request in catalog_server.requests] == [
        "/catalog.rdf", "/catalog.rdf?page=2", "/catalog.rdf?page=3"]
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    assert sorted(datasets) == sorted(f"dataset-{n}" for n in range(TOTAL))

    for dataset in datasets.values():
        assert dataset["title"].startswith("Jeu de données ")  # French preferred over English
        assert dataset["license"] in {"lov2", "cc-by", "odc-odbl"}
        assert dataset["frequency"] in {"daily", "weekly", "monthly", "annual", "irregular", "continuous"}
        assert dataset["temporal_coverage"]["start"] < dataset["temporal_coverage"]["end"]
        (polygon,) = dataset["spatial"]["geom"]["coordinates"]
        assert len(polygon[0]) == 5 and polygon[0][0] == polygon[0][-1]
        assert dataset["contact_points"][0]["email"].endswith("@example.org")
        assert 1 <= len(dataset["resources"]) <= 3
        for resource in dataset["resources"]:
            assert resource["format"] in {"csv", "json", "geojson", "zip"}
            assert resource["url"].endswith("." + resource["format"])  # downloadURL, not accessURL
            assert resource["checksum"]["type"] == "sha256" and len(resource["checksum"]["value"]) == 64
            assert resource["filesize"] > 0
    assert len({dataset["license"] for dataset in datasets.values()}) == 3
