"""The HTTP client's timeouts, identity and error messages, and safe XML parsing."""

from __future__ import annotations

import pytest

from harvesters import __version__
from harvesters.http import Http, HttpError, Unreachable, parse_xml
from tests.servers.catalog import CatalogServer


def test_every_request_names_the_project_and_has_a_timeout(catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/slow", "late", "text/plain", delay=1.5)
    with pytest.raises(HttpError, match=r"Timed out after 0.5s waiting for http://127\.0\.0\.1:\d+/slow"):
        Http(read_timeout=0.5, retries=0).get(url)
    assert catalog_server.requests[0].headers["User-Agent"] == f"udata-harvesters/{__version__} " \
        "(+https://github.com/opendatateam/udata)"


def test_unreachable_hosts_and_http_errors_are_named(catalog_server: CatalogServer) -> None:
    with pytest.raises(HttpError, match=r"Unable to reach http://127\.0\.0\.1:9/x: connection refused"):
        Http(retries=0).get("http://127.0.0.1:9/x")
    url = catalog_server.serve("/gone", "no", "text/plain", status=404)
    with pytest.raises(HttpError, match="HTTP 404 Not Found from http://.*/gone") as error:
        Http(retries=0).get(url)
    assert error.value.status == 404


def test_server_errors_are_retried_a_bounded_number_of_times(catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/flaky", "down", "text/plain", status=503)
    with pytest.raises(HttpError, match="HTTP 503"):
        Http(retries=2).get(url)
    assert len(catalog_server.requests_to("/flaky")) == 3


def test_send_is_one_attempt_answered_as_the_server_answers(catalog_server: CatalogServer) -> None:
    """What an API client builds on (the udata target): error answers come back to be read, redirects are not
    followed (they would carry its credentials), nothing is retried; a request that never left says so."""
    url = catalog_server.serve("/busy", '{"message": "try later"}', "application/json", status=503)
    answer = Http(retries=2).send("POST", url, json={})
    assert answer.status_code == 503 and answer.json() == {"message": "try later"}
    assert len(catalog_server.requests_to("/busy")) == 1
    moved = catalog_server.serve("/moved", "", "text/plain", status=302, headers={"Location": url})
    answer = Http().send("GET", moved, headers={"X-API-KEY": "secret"})
    assert answer.status_code == 302 and len(catalog_server.requests_to("/busy")) == 1
    with pytest.raises(Unreachable, match="connection refused"):
        Http().send("PUT", "http://127.0.0.1:9/x")
    slow = catalog_server.serve("/slow-answer", "late", "text/plain", delay=1.5)
    with pytest.raises(HttpError) as raised:  # the request was sent: the server may have carried it out
        Http(read_timeout=0.5).send("POST", slow)
    assert not isinstance(raised.value, Unreachable)


def test_html_where_json_was_expected_is_said_plainly(catalog_server: CatalogServer) -> None:
    url = catalog_server.serve("/api", "<!doctype html><html></html>", "text/html")
    with pytest.raises(HttpError, match=f"{url} returned HTML where JSON was expected"):
        Http().get_json(url)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE doc [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<doc>&secret;</doc>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


@pytest.mark.parametrize("document", [
    XXE,
    BILLION_LAUGHS,
    BILLION_LAUGHS.replace(b"DOCTYPE", b"doctype"),  # not XML, but lenient parsers take it
    BILLION_LAUGHS.replace(b"DOCTYPE", b"DocType"),
    b'<lolz><!DOCTYPE lolz [<!ENTITY lol "lol">]>&lol;</lolz>',  # inside the root: some parsers take that too
    '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE doc [<!ENTITY a "x">]><doc>&a;</doc>'.encode("utf-16"),
], ids=["external", "billion-laughs", "lowercase", "mixed-case", "inside-root", "utf-16"])
def test_xml_with_a_document_type_is_refused_before_anything_is_expanded(document: bytes) -> None:
    with pytest.raises(HttpError, match=r"Refused the XML from http://x\.test/csw: it declares a document type"):
        parse_xml(document, "http://x.test/csw")


def test_an_html_page_where_xml_was_expected_is_said_plainly() -> None:
    with pytest.raises(HttpError, match="http://x.test/csw returned HTML where XML was expected"):
        parse_xml(b"<!doctype html><html><body>Maintenance</body></html>", "http://x.test/csw")


def test_broken_xml_is_reported_with_its_origin() -> None:
    with pytest.raises(HttpError, match="Invalid XML from http://x.test/csw: "):
        parse_xml(b"<csw><unclosed></csw>", "http://x.test/csw")
