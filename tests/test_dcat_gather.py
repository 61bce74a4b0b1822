"""Fetching DCAT catalogs: serializations, media types, Hydra paging, JSON-LD contexts, broken input."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph

from tests.helpers import Cli
from tests.servers.catalog import CatalogServer, Reply, Request
from tests.shared import fixture_path

PAGED_FIXTURES = {"partial": "partial-collection-{page}.jsonld", "paged": "paged-collection-{page}.jsonld"}


def serve_pages(server: CatalogServer, pattern: str) -> str:
    """`/catalog.jsonld?page=N` answers the fixture of page N (page 1 without the parameter)."""

    def page(request: Request) -> Reply:
        return Reply(fixture_path("dcat/" + pattern.format(page=request.query.get("page", "1"))), "application/ld+json")

    return server.handle("/catalog.jsonld", page)


def dataset_titles(cli: Cli) -> list[str]:
    return sorted(dataset["title"] for dataset in cli.json("datasets", "list"))


@pytest.mark.parametrize("style", sorted(PAGED_FIXTURES))
def test_hydra_paging_follows_next_pages(cli: Cli, catalog_server: CatalogServer, style: str) -> None:
    url = serve_pages(catalog_server, PAGED_FIXTURES[style])
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    assert sorted(item["remote_id"] for item in job["items"]) == ["1", "2", "3", "4"]
    assert [request.target for request in catalog_server.requests] == ["/catalog.jsonld", "/catalog.jsonld?page=2"]


def page_with_next(server: CatalogServer, name: str, next_page: str, fixture: str = "flat.jsonld") -> str:
    """A fixture's datasets served at `/name`, with a Hydra link to `/next_page`."""
    graph = Graph().parse(fixture_path(f"dcat/{fixture}"), format="json-ld")
    document = json.loads(graph.serialize(format="json-ld"))
    document.append({"@id": f"http://data.test.org/{name}", "@type": ["http://www.w3.org/ns/hydra/core#PartialCollectionView"],
                     "http://www.w3.org/ns/hydra/core#next": [{"@id": f"http://data.test.org/{next_page}"}]})
    return server.serve(f"/{name}", json.dumps(document), "application/ld+json")


def test_a_page_naming_itself_as_next_is_fetched_once(cli: Cli, catalog_server: CatalogServer) -> None:
    url = page_with_next(catalog_server, "self.jsonld", "self.jsonld")
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    assert len(job["items"]) == 3
    assert [request.path for request in catalog_server.requests] == ["/self.jsonld"]


def test_pages_linking_in_a_cycle_are_each_fetched_once(cli: Cli, catalog_server: CatalogServer) -> None:
    url = page_with_next(catalog_server, "a.jsonld", "b.jsonld")
    page_with_next(catalog_server, "b.jsonld", "a.jsonld", fixture="nested.jsonld")
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done-errors"
    assert [request.path for request in catalog_server.requests] == ["/a.jsonld", "/b.jsonld"]
    # dataset 1 is on both pages: its second occurrence is reported, not harvested twice
    assert [item["status"] for item in job["items"]] == ["done"] * 3 + ["failed"]
    assert job["items"][3]["errors"][0]["message"] == "Identifier '1' already exists"


SERIALIZATIONS = {
    "turtle": "text/turtle",
    "nt": "application/n-triples",
    "n3": "text/n3",
    "trig": "application/trig",
    "json-ld": "application/ld+json",
    "xml": "application/rdf+xml",
}


@pytest.mark.parametrize("rdflib_format", sorted(SERIALIZATIONS))
def test_every_rdf_serialization(cli: Cli, catalog_server: CatalogServer, rdflib_format: str) -> None:
    graph = Graph().parse(fixture_path("dcat/catalog.xml"), format="xml", publicID="http://data.test.org/catalog.xml")
    body = graph.serialize(format=rdflib_format)
    url = catalog_server.serve("/catalog", body, SERIALIZATIONS[rdflib_format])
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    assert {key: len(dataset["resources"]) for key, dataset in datasets.items()} == {"1": 4, "2": 2, "3": 1, "4": 2}
    assert datasets["3"]["frequency"] == "daily"
    assert datasets["2"]["license"] == "lov2"
    assert datasets["1"]["contact_points"][0]["email"] == "hello@its.me"


def test_html_fails_the_job_with_the_unsupported_mime_type(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog", "<html><body>Not a catalog</body></html>", "text/html; charset=utf-8")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job["status"] == "failed"
    assert [error["message"] for error in job["errors"]] == ['Unsupported mime type "text/html"']


@pytest.mark.parametrize("path", ["/catalog.xml", "/without-extension"])
def test_a_generic_media_type_falls_back_to_the_extension_or_the_content(
    cli: Cli, catalog_server: CatalogServer, path: str
) -> None:
    url = catalog_server.serve_fixture(path, "dcat/catalog.xml", "application/octet-stream")
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done" and len(job["items"]) == 4


def test_an_undetectable_format_fails_the_job(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog", "@prefix dcat: <http://www.w3.org/ns/dcat#> .", "text/plain")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert [error["message"] for error in job["errors"]] == ["Unable to detect format from extension or mime type"]


def test_an_unknown_remote_jsonld_context_is_never_fetched(cli: Cli, catalog_server: CatalogServer) -> None:
    context = f"{catalog_server.url}/context.jsonld"
    catalog_server.serve("/context.jsonld", json.dumps({"@context": {"title": "http://purl.org/dc/terms/title"}}),
                         "application/ld+json")
    url = catalog_server.serve("/catalog.json", json.dumps({"@context": context, "@type": "dcat:Catalog"}),
                               "application/json")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert [error["message"] for error in job["errors"]] == [
        f"The JSON-LD document {url} uses the remote context {context}, which is not bundled "
        "(remote contexts are never fetched)"
    ]
    assert [request.path for request in catalog_server.requests] == ["/catalog.json"]


def test_invalid_rdf_fails_the_job_with_the_parser_message(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/catalog.ttl", "<http://a> <http://b> .", "text/turtle")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    (error,) = job["errors"]
    assert error["message"].startswith(f"Unable to parse Turtle from {url}: Parser error at line 1")


def test_language_extra_config_picks_the_literals(cli: Cli, catalog_server: CatalogServer) -> None:
    body = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Dataset rdf:about="http://data.test.org/d">
    <dct:title xml:lang="en">English title</dct:title>
    <dct:title xml:lang="fr-FR">Titre français</dct:title>
    <dct:title>Untagged title</dct:title>
  </dcat:Dataset>
</rdf:RDF>"""
    url = catalog_server.serve("/catalog.rdf", body, "application/rdf+xml")
    cli("source", "add", "english", url, "--backend", "dcat",
        "--config", json.dumps({"extra_configs": [{"key": "language", "value": "eng"}]}))
    cli("run", "english")
    assert dataset_titles(cli) == ["English title"]
    # the same dataset from another domain (on one domain, a remote id has one owner)
    french = catalog_server.serve("/french.rdf", body, "application/rdf+xml").replace("127.0.0.1", "localhost")
    cli.json("run", french, "--backend", "dcat")  # French by default
    assert dataset_titles(cli) == ["English title", "Titre français"]


def test_a_server_ignoring_the_page_parameter_fails_the_job_instead_of_looping(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = catalog_server.serve_fixture("/catalog.jsonld", "dcat/partial-collection-1.jsonld", "application/ld+json")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert [request.target for request in catalog_server.requests] == ["/catalog.jsonld", "/catalog.jsonld?page=2"]
    assert [error["message"] for error in job["errors"]] == [
        f"The page {url}?page=2 repeats the datasets of the previous page: paging stopped"]
    assert [item["status"] for item in job["items"]] == ["done"] * 3  # what was gathered is still harvested


RDF_XML_BODY = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/"
         xmlns:dcat="http://www.w3.org/ns/dcat#">
  <dcat:Dataset rdf:about="http://data.test.org/d"><dct:title>{title}</dct:title></dcat:Dataset>
</rdf:RDF>"""
LAUGHS = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 9))


@pytest.mark.parametrize("doctype", [
    f'<!DOCTYPE rdf:RDF [<!ENTITY l0 "lol">{LAUGHS}]>',  # billion laughs
    f'<!doctype rdf:RDF [<!ENTITY l0 "lol">{LAUGHS}]>',  # the same in lowercase: pyoxigraph would expand it
    f'<!DocType rdf:RDF [<!ENTITY l0 "lol">{LAUGHS}]>',
    '<!DOCTYPE rdf:RDF [<!ENTITY l8 SYSTEM "file:///etc/hostname">]>',  # external entity
    '<!DOCTYPE rdf:RDF [<!ENTITY % l8 "x">]>',  # parameter entity
    '<!DOCTYPE rdf:RDF [<!ENTITY l8 "Entity title">]>',  # even a short literal one: no DTD at all
])
def test_xml_document_types_fail_the_job_without_being_expanded(
    cli: Cli, catalog_server: CatalogServer, doctype: str
) -> None:
    body = f'<?xml version="1.0"?>\n{doctype}\n' + RDF_XML_BODY.format(title="&l8;")
    url = catalog_server.serve("/catalog.rdf", body, "application/rdf+xml")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert [error["message"] for error in job["errors"]] == [
        f"Refused the XML from {url}: it declares a document type (<!DOCTYPE ...>), whose entities could expand it "
        "without bound; a catalog document has no use for one"]
    assert job["items"] == []
