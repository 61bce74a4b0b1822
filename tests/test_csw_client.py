"""CSW paging and errors, through the CLI against the fixture server answering GetRecords POSTs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree

from backends.csw.client import get_records_body
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import (
    CSW_PATH,
    exception_report,
    get_records,
    handler,
    iso_record,
    replay,
    search_results,
    start_position,
)

OGC = "{http://www.opengis.net/ogc}"
CSW = "{http://www.opengis.net/cat/csw/2.0.2}"


def records(*identifiers: str) -> list[str]:
    return [iso_record(identifier) for identifier in identifiers]


def run(cli: Cli, url: str, **extra: Any) -> dict:
    """Harvest `url` with csw-iso-19139 (extra configs as keyword arguments) and return the job."""
    if not extra:
        return cli.json("run", url, "--backend", "csw-iso-19139", expect=None)
    config = {"extra_configs": [{"key": key, "value": value} for key, value in extra.items()]}
    cli("source", "add", "csw", url, "--backend", "csw-iso-19139", "--config", json.dumps(config))
    return cli.json("run", "csw", expect=None)


def starts(server: CatalogServer) -> list[int]:
    return [start_position(request) for request in server.requests_to(CSW_PATH)]


def done_ids(job: dict) -> list[str]:
    return sorted(item["remote_id"] for item in job["items"] if item["status"] == "done")


def test_request_asks_full_iso_records_sorted_by_identifier_with_the_configured_page_size(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = replay(catalog_server, {1: search_results(records("a", "b"), matched=2, next_record=0)})
    run(cli, url, page_size=7)
    request = get_records(catalog_server.requests_to(CSW_PATH)[0])
    assert catalog_server.requests_to(CSW_PATH)[0].method == "POST"
    assert (request.get("service"), request.get("version"), request.get("resultType")) == ("CSW", "2.0.2", "results")
    assert (request.get("startPosition"), request.get("maxRecords")) == ("1", "7")
    assert request.get("outputSchema") == "http://www.isotc211.org/2005/gmd"
    assert request.findtext(f"{CSW}Query/{CSW}ElementSetName") == "full"
    assert request.findtext(f".//{OGC}SortBy//{OGC}PropertyName") == "apiso:Identifier"
    types = {equal.findtext(f"{OGC}Literal") for equal in request.iter(f"{OGC}PropertyIsEqualTo")}
    assert types == {"dataset", "nonGeographicDataset", "series", "service"}  # services become data services
    assert {name.text for name in request.iter(f"{OGC}PropertyName")} == {"apiso:Identifier", "apiso:Type"}


def test_default_page_size_is_50(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, {1: search_results(records("a"), matched=1, next_record=0)})
    run(cli, url)
    assert get_records(catalog_server.requests_to(CSW_PATH)[0]).get("maxRecords") == "50"


def test_paging_follows_next_record_until_zero(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, {
        1: search_results(records("a", "b"), matched=5, next_record=3),
        3: search_results(records("c", "d"), matched=5, next_record=5),
        5: search_results(records("e"), matched=5, next_record=0),
        7: search_results(records("never"), matched=5, next_record=0),
    })
    job = run(cli, url)
    assert job["status"] == "done"
    assert starts(catalog_server) == [1, 3, 5]
    assert done_ids(job) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("second_page", "why"),
    [
        (search_results([], matched=9, next_record=5, returned=0), "no records returned"),
        (search_results(records("c", "d"), matched=9, next_record=3), "nextRecord does not advance"),
        (search_results(records("c", "d"), matched=9, next_record=1), "nextRecord goes back"),
        (search_results(records("c", "d"), matched=9, next_record=None), "no nextRecord"),
        (search_results(records("c", "d"), matched=9, next_record="five"), "unreadable nextRecord"),
    ],
)
def test_paging_stopping_short_of_what_was_matched_is_an_incomplete_gather(
    cli: Cli, catalog_server: CatalogServer, second_page: bytes, why: str
) -> None:
    url = replay(catalog_server, {
        1: search_results(records("a", "b"), matched=9, next_record=3),
        3: second_page,
        5: search_results(records("e", "f"), matched=9, next_record=0),
    })
    job = run(cli, url)
    assert starts(catalog_server) == [1, 3], why
    assert job["status"] == "failed"
    received = 2 + len(etree.fromstring(second_page).find(f"{CSW}SearchResults"))
    assert [error["message"] for error in job["errors"]] == [
        f"Incomplete gather: {url} matched 9 records (numberOfRecordsMatched), but its pages returned {received}; "
        "nothing is archived after an incomplete gather"]
    assert {"a", "b"} <= set(done_ids(job)) <= {"a", "b", "c", "d"}  # what was read is still harvested


def test_paging_stops_at_a_next_record_beyond_what_was_matched(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, {
        1: search_results(records("a", "b"), matched=4, next_record=3),
        3: search_results(records("c", "d"), matched=4, next_record=5),
        5: search_results(records("e", "f"), matched=4, next_record=0),
    })
    job = run(cli, url)
    assert starts(catalog_server) == [1, 3]
    assert job["status"] == "done"
    assert done_ids(job) == ["a", "b", "c", "d"]


def test_returned_count_attribute_is_not_trusted_over_the_records(cli: Cli, catalog_server: CatalogServer) -> None:
    # GeoNetwork's GeoDCAT-AP pages say numberOfRecordsReturned="6" while holding two records.
    url = replay(catalog_server, {
        1: search_results(records("a", "b"), matched=4, next_record=3, returned=0),
        3: search_results(records("c", "d"), matched=4, next_record=0, returned=6),
    })
    assert done_ids(run(cli, url)) == ["a", "b", "c", "d"]


def test_exception_report_fails_the_job_with_the_servers_text(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve(CSW_PATH, exception_report("Invalid typeName parameter value: gmd:MD_Metadata"),
                               "application/xml")
    job = run(cli, url)
    assert job["status"] == "failed"
    assert [error["message"] for error in job["errors"]] == [
        "Failed to query CSW: InvalidParameterValue (typename): Invalid typeName parameter value: gmd:MD_Metadata"
    ]
    assert job["items"] == []


def test_refused_first_request_is_retried_once_with_lowercase_queryables(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    """pycsw wants apiso:Type / apiso:Identifier; some GeoNetwork versions only know them lowercased."""

    def answer(start: int, request: etree._Element) -> bytes:
        names = {name.text for name in request.iter(f"{OGC}PropertyName")}
        if names != {"apiso:type", "apiso:identifier"}:
            return exception_report(f"Unknown property {sorted(names)[0]}", locator="constraint")
        return search_results(records(f"r{start}"), matched=2, next_record=2 if start == 1 else 0)

    url = catalog_server.handle(CSW_PATH, handler(answer))
    job = run(cli, url)
    assert job["status"] == "done"
    assert done_ids(job) == ["r1", "r2"]
    assert starts(catalog_server) == [1, 1, 2]


def test_exception_report_on_a_later_page_fails_the_job_and_keeps_earlier_items(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = replay(catalog_server, {
        1: search_results(records("a", "b"), matched=4, next_record=3),
        3: exception_report("Database unavailable", code="NoApplicableCode", locator="service"),
    })
    job = run(cli, url)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"] == "Failed to query CSW: NoApplicableCode (service): Database unavailable"
    assert done_ids(job) == ["a", "b"]
    assert starts(catalog_server) == [1, 3]


def test_exception_report_in_an_http_error_answer(cli: Cli, catalog_server: CatalogServer) -> None:
    report = (b'<ows20:ExceptionReport xmlns:ows20="http://www.opengis.net/ows/2.0" version="3.0.0">'
              b'<ows20:Exception exceptionCode="NoApplicableCode" locator="service">'
              b'<ows20:ExceptionText>Exception: document not well-formed.</ows20:ExceptionText>'
              b'</ows20:Exception></ows20:ExceptionReport>')
    url = catalog_server.serve(CSW_PATH, report, "application/xml", status=400)
    job = run(cli, url)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"] == (
        "Failed to query CSW: NoApplicableCode (service): Exception: document not well-formed."
    )


def test_answer_that_is_not_a_csw_response_fails_the_job(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve(CSW_PATH, b"<html><body>Maintenance</body></html>", "text/html")
    job = run(cli, url)
    assert job["status"] == "failed"
    assert "Unexpected CSW answer" in job["errors"][0]["message"]
    assert "<html>" in job["errors"][0]["message"]


def test_http_error_fails_the_job(cli: Cli, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve(CSW_PATH, "Internal error", "text/plain", status=500)
    job = run(cli, url)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"].startswith("HTTP 500")


@pytest.mark.parametrize("size", [0, 1001])
def test_out_of_range_page_size_fails_the_job_before_any_request(
    cli: Cli, catalog_server: CatalogServer, size: int
) -> None:
    url = replay(catalog_server, {1: search_results(records("a"), matched=1, next_record=0)})
    job = run(cli, url, page_size=size)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"] == f"Page size must be between 1 and 1000, got {size}"
    assert catalog_server.requests_to(CSW_PATH) == []


def test_unusable_records_fail_or_skip_only_their_own_item(cli: Cli, catalog_server: CatalogServer) -> None:
    dublin_core = ('<csw:Record xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
                   'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier>dc-1</dc:identifier></csw:Record>')
    page = [iso_record("good-1"), dublin_core, iso_record(""), iso_record("untitled", title=""),
            iso_record("good-2")]
    url = replay(catalog_server, {1: search_results(page, matched=5, next_record=0)})
    job = run(cli, url)
    assert job["status"] == "done-errors"
    items = {item["remote_id"]: item for item in job["items"]}
    assert done_ids(job) == ["good-1", "good-2"]
    assert items["csw-record-2"]["status"] == "failed"
    assert items["csw-record-2"]["errors"][0]["message"] == (
        "CSW record 2 is not ISO 19139 but {http://www.opengis.net/cat/csw/2.0.2}Record"
    )
    assert items["csw-record-3"]["status"] == "skipped"  # no fileIdentifier: named by its position
    assert items["csw-record-3"]["logs"][0]["message"] == "CSW record 3 has no fileIdentifier"
    assert items["untitled"]["status"] == "skipped"
    assert items["untitled"]["logs"][0]["message"] == "missing title on dataset"


def test_output_schema_is_escaped_and_a_single_type_needs_no_or() -> None:
    body = get_records_body('http://example.org/schema?a="b"&c', 1, 10, ("dataset",))
    request = etree.fromstring(body)
    assert request.get("outputSchema") == 'http://example.org/schema?a="b"&c'
    assert request.find(f".//{OGC}Or") is None
    assert request.findtext(f".//{OGC}PropertyIsEqualTo/{OGC}Literal") == "dataset"
