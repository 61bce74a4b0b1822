"""A real pycsw 2.6 (CSW 2.0.2) server loaded with ISO 19139 records, queried with plain requests."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.servers.pycsw_server import PycswServer, generate_iso_records, split_iso_records
from tests.shared import fixture_path
from tests.tiers import starts

NS = {
    "csw": "http://www.opengis.net/cat/csw/2.0.2",
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "ows": "http://www.opengis.net/ows",
}
GMD = NS["gmd"]
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
TIMEOUT = 30
# geoide-iso19139-single-dataset.xml is another version of the first record of
# geonetwork-iso19139-page-5.xml (same fileIdentifier). fileIdentifier is pycsw's
# primary key, so the geoide copy gets a suffixed identifier to make 8 distinct records.
GEOIDE_ID = "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6"

GET_RECORDS = """<?xml version="1.0" encoding="UTF-8"?>
<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"
    xmlns:ogc="http://www.opengis.net/ogc" xmlns:gmd="http://www.isotc211.org/2005/gmd"
    service="CSW" version="2.0.2" resultType="results"
    startPosition="{start}" maxRecords="{max}" outputSchema="{schema}">
  <csw:Query typeNames="gmd:MD_Metadata">
    <csw:ElementSetName>full</csw:ElementSetName>
    <ogc:SortBy>
      <ogc:SortProperty>
        <ogc:PropertyName>apiso:Identifier</ogc:PropertyName>
        <ogc:SortOrder>ASC</ogc:SortOrder>
      </ogc:SortProperty>
    </ogc:SortBy>
  </csw:Query>
</csw:GetRecords>
"""


def post(url: str, start: int, max_records: int, schema: str = GMD) -> requests.Response:
    """POST a CSW 2.0.2 GetRecords (ISO, full, sorted by apiso:Identifier)."""
    body = GET_RECORDS.format(start=start, max=max_records, schema=schema).encode()
    return requests.post(url, data=body, headers={"Content-Type": "application/xml"},
                         timeout=TIMEOUT)


def get_page(url: str, start: int, max_records: int) -> tuple[int, int, list[str]]:
    """One GetRecords page: (numberOfRecordsMatched, nextRecord, fileIdentifiers)."""
    resp = post(url, start, max_records)
    assert resp.status_code == 200, resp.text[:500]
    root = etree.fromstring(resp.content, PARSER)
    assert root.tag == f"{{{NS['csw']}}}GetRecordsResponse", resp.text[:1000]
    results = root.find("csw:SearchResults", NS)
    records = results.findall("gmd:MD_Metadata", NS)
    assert int(results.get("numberOfRecordsReturned")) == len(records)
    ids = [r.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS) for r in records]
    return int(results.get("numberOfRecordsMatched")), int(results.get("nextRecord")), ids


def harvest(url: str, page_size: int, max_pages: int = 100) -> tuple[int, list[str]]:
    """Page through everything (bounded); return (matched, all fileIdentifiers)."""
    start, seen, matched = 1, [], 0
    for _ in range(max_pages):
        matched, next_record, ids = get_page(url, start, page_size)
        seen += ids
        if next_record == 0 or not ids:
            return matched, seen
        assert next_record == start + len(ids)
        start = next_record
    raise AssertionError(f"still paging after {max_pages} pages")


def fixture_records() -> list[bytes]:
    """The 6 GeoNetwork ISO records + the 2 single ones (geoide, géoplateforme)."""
    records: list[bytes] = []
    for name in ("geonetwork-iso19139-page-1.xml", "geonetwork-iso19139-page-3.xml",
                 "geonetwork-iso19139-page-5.xml", "geoide-iso19139-single-dataset.xml",
                 "geoplateforme-iso19139-IGNF_RPG.xml"):
        found = split_iso_records(fixture_path(f"csw/{name}").read_bytes())
        if name.startswith("geoide"):
            old = f"<gco:CharacterString>{GEOIDE_ID}</gco:CharacterString>".encode()
            assert found[0].count(old) == 1
            found = [found[0].replace(old, old.replace(GEOIDE_ID.encode(), GEOIDE_ID.encode() + b"-geoide"))]
        records += found
    assert len(records) == 8
    return records


@pytest.fixture(scope="module")
@starts("servers")
def fixture_server() -> Iterator[PycswServer]:
    with PycswServer(fixture_records()) as server:
        yield server


def test_split_iso_records_makes_standalone_documents() -> None:
    records = fixture_records()
    for doc in records:
        root = etree.fromstring(doc, PARSER)
        assert root.tag == f"{{{GMD}}}MD_Metadata"
        assert root.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS)
    rpg = etree.fromstring(records[-1], PARSER)
    assert len(rpg.findall("gmd:distributionInfo//gmd:CI_OnlineResource", NS)) == 80  # all distinct


def test_first_page_and_full_paging(fixture_server: PycswServer) -> None:
    matched, next_record, ids = get_page(fixture_server.url, start=1, max_records=3)
    assert (matched, next_record, len(ids)) == (8, 4, 3)
    assert ids == sorted(ids)  # SortBy apiso:Identifier ASC (binary collation: "IGNF_RPG" first)

    matched, seen = harvest(fixture_server.url, page_size=3)
    expected = {etree.fromstring(d, PARSER).findtext("gmd:fileIdentifier/gco:CharacterString",
                                                     namespaces=NS) for d in fixture_records()}
    assert matched == 8
    assert Counter(seen) == Counter(expected)  # every record exactly once


def test_errors_and_unsupported_dcat_output_schema(fixture_server: PycswServer) -> None:
    # pycsw 2.6 answers a CSW 2.0.2 request it rejects with HTTP 200 and an OWS 1.0
    # report (version="1.2.0"):
    #   <ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0" language="en-US">
    #     <ows:Exception exceptionCode="InvalidParameterValue" locator="outputschema">
    #       <ows:ExceptionText>Invalid outputSchema parameter value: http://www.w3.org/ns/dcat#</ows:ExceptionText>
    #     </ows:Exception>
    #   </ows:ExceptionReport>
    # (a wrong-case queryable, e.g. apiso:identifier in SortBy, gives the same shape with
    # "Invalid ogc:SortProperty/ogc:PropertyName: 'apiso:identifier'", locator="service").
    # A body that is not XML gets HTTP 400 and an OWS 2.0 report (CSW 3 default):
    #   <ows20:ExceptionReport xmlns:ows20="http://www.opengis.net/ows/2.0" version="3.0.0">
    #     <ows20:Exception exceptionCode="NoApplicableCode" locator="service">
    #       <ows20:ExceptionText>Exception: document not well-formed. ...
    # So DCAT output (outputSchema http://www.w3.org/ns/dcat#) is NOT supported by pycsw 2.6.
    resp = post(fixture_server.url, 1, 3, schema="http://www.w3.org/ns/dcat#")
    assert resp.status_code == 200
    exc = etree.fromstring(resp.content, PARSER).find("ows:Exception", NS)
    assert exc is not None and exc.get("exceptionCode") == "InvalidParameterValue"
    assert exc.get("locator") == "outputschema"
    assert "dcat" in exc.findtext("ows:ExceptionText", namespaces=NS)

    resp = requests.post(fixture_server.url, data=b"<not-xml", timeout=TIMEOUT,
                         headers={"Content-Type": "application/xml"})
    assert resp.status_code == 400
    root = etree.fromstring(resp.content, PARSER)
    assert root.tag == "{http://www.opengis.net/ows/2.0}ExceptionReport"


@pytest.mark.servers
def test_200_generated_records_paged_by_7() -> None:
    records = generate_iso_records(200)
    with PycswServer(records) as server:
        matched, seen = harvest(server.url, page_size=7)
    assert matched == 200
    assert len(seen) == 200
    assert set(seen) == {f"synthetic-{i:05d}" for i in range(200)}
