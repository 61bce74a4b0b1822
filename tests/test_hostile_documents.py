"""Hostile documents: XML document types in any letter case, pages that only parse leniently, JSON-LD with a
lone surrogate escape. Each is refused with a clear error, or read and reported."""

from __future__ import annotations

import pytest

from backends.base import BackendContext, Record
from backends.dcat import DcatBackend
from harvesters.http import Http
from harvesters.models import HarvestConfig
from tests.helpers import Cli, job_errors
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import CSW_PATH, iso_record, search_results
from tests.servers.hostile import HostileServer

REFUSED = ("Refused the XML from {url}: it declares a document type (<!DOCTYPE ...>), whose entities could expand it "
           "without bound; a catalog document has no use for one")


@pytest.mark.parametrize("case", ["lower", "upper", "mixed"])
def test_an_rdf_xml_document_type_in_any_case_is_refused(cli: Cli, hostile_server: HostileServer, case: str) -> None:
    url = f"{hostile_server.url}/doctype?case={case}"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [REFUSED.format(url=url)]
    assert job["items"] == []


@pytest.mark.parametrize("keyword", ["DOCTYPE", "doctype"])
def test_a_csw_answer_with_a_document_type_is_refused(cli: Cli, catalog_server: CatalogServer, keyword: str) -> None:
    answer = search_results([iso_record("a")], matched=1, next_record=0).replace(
        b"?>\n", f'?>\n<!{keyword} csw:GetRecordsResponse [<!ENTITY a "aaaa">]>\n'.encode(), 1)
    url = catalog_server.serve(CSW_PATH, answer, "application/xml")
    job = cli.json("run", url, "--backend", "csw-iso-19139", expect=1)
    assert job_errors(job) == [REFUSED.format(url=url)]


def gathered(url: str) -> tuple[list[Record], list[str]]:
    """The records of a DCAT gather, and the job-level warnings it reported."""
    backend = DcatBackend(url, HarvestConfig(), BackendContext(Http()))
    return list(backend.records()), backend.context.warnings


def test_a_page_read_only_leniently_is_reported_on_the_job_and_on_its_records(hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/lenient/catalog.ttl?broken=1"
    records, warnings = gathered(url)
    assert [record.remote_id for record in records] == ["ds-00000", "ds-00001"]
    [warning] = warnings
    assert warning.startswith(f"The page {url} is not valid Turtle (Parser error between line 10 column")
    assert warning.endswith("it was read leniently, so its datasets may lack resources or fields the catalog meant "
                            "to give (2 records from it carry a warning)")
    for record in records:
        [item_warning] = record.warnings
        assert item_warning.startswith(f"Read from the page {url}, which is not valid Turtle (")
    spliced = records[1].data["graph"][f"{hostile_server.url}/d/1"]
    assert "http://purl.org/dc/terms/format" not in spliced  # the triples lenient parsing lost


def test_a_valid_page_carries_no_warning(hostile_server: HostileServer) -> None:
    records, warnings = gathered(f"{hostile_server.url}/lenient/catalog.ttl?broken=0")
    assert warnings == []
    assert [record.warnings for record in records] == [[], []]
    assert "http://purl.org/dc/terms/format" in records[1].data["graph"][f"{hostile_server.url}/d/1"]


def test_a_json_ld_lone_surrogate_fails_the_page_naming_the_escape(cli: Cli, hostile_server: HostileServer) -> None:
    url = f"{hostile_server.url}/jsonld/surrogate"
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job_errors(job) == [
        f"Unable to parse JSON-LD from {url}: the escape \\ud800 at $.@graph[1].http://purl.org/dc/terms/title is a "
        "lone UTF-16 surrogate, not a character"]


def test_json_ld_surrogate_pairs_are_characters(cli: Cli, catalog_server: CatalogServer) -> None:
    body = ('{"@id": "http://data.test.org/d", "@type": "http://www.w3.org/ns/dcat#Dataset", '
            '"http://purl.org/dc/terms/identifier": "d", '
            '"http://purl.org/dc/terms/title": "V\\u00e9lo \\ud83d\\udeb2"}')
    url = catalog_server.serve("/catalog.jsonld", body, "application/ld+json")
    cli.json("run", url, "--backend", "dcat")
    assert [dataset["title"] for dataset in cli.json("datasets", "list")] == ["Vélo 🚲"]
