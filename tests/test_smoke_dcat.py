from tests.helpers import Cli
from tests.servers.catalog import CatalogServer


def test_dcat_catalog_over_http_is_harvested_then_unchanged(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    first = cli.json("run", url, "--backend", "dcat")
    assert first["status"] == "done"
    assert sorted(item["remote_id"] for item in first["items"]) == ["1", "2", "3", "4"]
    second = cli.json("run", url, "--backend", "dcat")
    assert [log["message"] for item in second["items"] for log in item["logs"]] == ["Dataset unchanged"] * 4
