"""CSW GetRecords answers for the fixture catalog server: replayed pages and made-up result sets.

`replay` answers each POSTed GetRecords with the page for its startPosition (a fixture file or
a body), like a CSW server whose pages were recorded; `search_results` writes a GetRecordsResponse
with chosen paging attributes, to test how a harvester follows (or stops following) them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from lxml import etree

from tests.servers.catalog import CatalogServer, Reply, Request
from tests.shared import fixture_path

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
CSW_PATH = "/csw"

ISO_RECORD = """<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"
    xmlns:gco="http://www.isotc211.org/2005/gco">
  <gmd:fileIdentifier><gco:CharacterString>{identifier}</gco:CharacterString></gmd:fileIdentifier>
  <gmd:identificationInfo><gmd:MD_DataIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title><gco:CharacterString>{title}</gco:CharacterString></gmd:title>
    </gmd:CI_Citation></gmd:citation>
    <gmd:abstract><gco:CharacterString>About {title}</gco:CharacterString></gmd:abstract>
  </gmd:MD_DataIdentification></gmd:identificationInfo>
</gmd:MD_Metadata>"""


def get_records(request: Request) -> etree._Element:
    """The GetRecords element a harvester POSTed."""
    return etree.fromstring(request.body, PARSER)


def start_position(request: Request) -> int:
    return int(get_records(request).get("startPosition"))


def replay(server: CatalogServer, pages: Mapping[int, str | bytes | Path], path: str = CSW_PATH) -> str:
    """Serve `pages` by startPosition (a str names a fixture, see `fixture_path`); return the CSW URL."""
    bodies = {start: fixture_path(page) if isinstance(page, str) else page for start, page in pages.items()}

    def answer(request: Request) -> Reply:
        body = bodies.get(start_position(request))
        if body is None:
            return Reply(f"No page at {start_position(request)}", "text/plain", status=404)
        return Reply(body, "application/xml")

    return server.handle(path, answer)


def fixture_pages(pattern: str, starts: tuple[int, ...] = (1, 3, 5)) -> dict[int, str]:
    """The recorded pages of a GeoNetwork fixture series, e.g. 'csw/geonetwork-dcat-page-{}.xml'."""
    return {start: pattern.format(start) for start in starts}


def iso_record(identifier: str, title: str | None = None) -> str:
    return ISO_RECORD.format(identifier=identifier, title=title if title is not None else f"Dataset {identifier}")


def search_results(records: list[str], matched: int | None, next_record: int | str | None,
                   returned: int | None = None) -> bytes:
    """A GetRecordsResponse holding `records` with these paging attributes (None leaves one out)."""
    attributes = {"numberOfRecordsMatched": matched, "numberOfRecordsReturned": len(records) if returned is None
                  else returned, "nextRecord": next_record, "elementSet": "full"}
    text = " ".join(f'{key}="{value}"' for key, value in attributes.items() if value is not None)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" version="2.0.2">'
            f'<csw:SearchStatus timestamp="2024-01-01T00:00:00Z"/>'
            f'<csw:SearchResults {text}>{"".join(records)}</csw:SearchResults>'
            f'</csw:GetRecordsResponse>').encode()


def exception_report(text: str, code: str = "InvalidParameterValue", locator: str = "typename") -> bytes:
    """An OWS 1.0 ExceptionReport as pycsw and GeoNetwork send it."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">'
            f'<ows:Exception exceptionCode="{code}" locator="{locator}">'
            f'<ows:ExceptionText>{text}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>').encode()


def paged_records(server: CatalogServer, records: list[bytes], path: str = CSW_PATH) -> str:
    """Serve `records` (standalone XML documents) as a conforming CSW pages them: each GetRecords gets the
    slice its startPosition and maxRecords ask for, with numberOfRecordsMatched and nextRecord (0 on the last
    page); return the CSW URL."""
    elements = [etree.tostring(etree.fromstring(record, PARSER), encoding="unicode") for record in records]

    def answer(start: int, request: etree._Element) -> bytes:
        page = elements[start - 1:start - 1 + int(request.get("maxRecords"))]
        following = start + len(page)
        return search_results(page, matched=len(elements), next_record=following if following <= len(elements) else 0)

    return server.handle(path, handler(answer))


def handler(answer: Callable[[int, etree._Element], bytes]) -> Callable[[Request], Reply]:
    """A catalog server handler from a function of (startPosition, GetRecords element) to a body."""

    def reply(request: Request) -> Reply:
        element = get_records(request)
        return Reply(answer(int(element.get("startPosition")), element), "application/xml")

    return reply
