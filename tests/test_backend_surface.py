"""What backends share: the reading of error answers, file extensions, and the vocabularies DCAT and ISO both read.

Pure functions, no server: the end-to-end paths (a CKAN, ODS or CSW error answer failing the job with the API's
message, a udata refusal failing its item) are tested with each backend and target against real servers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backends import base
from backends.base import parse_xml
from backends.ckan import ckan_message
from backends.csw.iso19139 import map_metadata
from backends.dcat.vocabularies import CONTACT_ROLES
from backends.normalize import file_extension
from backends.ods import file_format, ods_message
from backends.vocabularies import UDATA_CONTACT_ROLES, is_inspire_theme_uri, is_inspire_themes_title
from harvesters.answers import ErrorAnswer, field_problems, label_message
from harvesters.targets.udata.client import portal_message
from harvesters.transport import HttpError
from tests.shared import ROOT


def answer(body: bytes | str, status: int = 400, reason: str = "Bad Request") -> ErrorAnswer:
    return ErrorAnswer(status, reason, body.encode() if isinstance(body, str) else body)


def test_an_error_answer_s_body_is_read_as_json_xml_or_text_without_raising() -> None:
    assert answer('{"message": "No"}').json == {"message": "No"}
    assert answer("<ows:ExceptionReport xmlns:ows='http://www.opengis.net/ows'/>").xml is not None
    assert (answer("<html>\n  <b>Bad</b>\n</html>").json, answer("not { json").xml) == (None, None)
    assert answer("<!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>").xml is None  # no document type, even here
    assert answer("  Service\n\n unavailable ").text == "Service unavailable"
    assert answer("", reason="Bad Gateway").text == "Bad Gateway"
    assert answer("x" * 1000).text == "x" * 300
    assert ErrorAnswer.of(HttpError("Unable to reach http://127.0.0.1:1/: connection refused")) is None


def test_the_shared_pieces_of_a_message() -> None:
    assert label_message("Authorization Error", "Access denied") == "Authorization Error: Access denied"
    assert label_message(None, " Access denied ") == label_message("", "Access denied") == "Access denied"
    assert field_problems({"name": ["Missing value"], "url": ["Not a URL", "Too long"]}) == (
        "name: Missing value; url: Not a URL, Too long")
    assert field_problems({"resources": [{"url": ["Not a URL"]}]}) == "resources: url: Not a URL"


@pytest.mark.parametrize(("error", "expected"), [
    ({"__type": "Authorization Error", "message": "Access denied"}, "Authorization Error: Access denied"),
    ({"__type": "Validation Error", "name": ["Missing value"], "tags": ["Too short", "Invalid"]},
     "Validation Error: name: Missing value; tags: Too short, Invalid"),
    ({"__type": "Not Found Error", "message": ""}, "Not Found Error"),
    ({}, "Unknown CKAN error"),
    ("Bad request - JSON Error", "Bad request - JSON Error"),
    (None, "Unknown CKAN error"),
])
def test_ckan_errors_as_sentences(error: object, expected: str) -> None:
    assert ckan_message(error) == expected


def test_opendatasoft_errors_as_sentences() -> None:
    refused = {"error_code": "ODSQLError", "message": "Unknown field: foo"}
    assert ods_message(refused) == "ODSQLError: Unknown field: foo"
    assert ods_message({"message": "Too many requests"}) == "Too many requests"
    assert ods_message({"error_code": "X"}) is None and ods_message(["not", "an", "error"]) is None


def test_udata_refusals_as_sentences() -> None:
    by_field = '{"errors": {"title": ["This field is required."], "resources": {"0": {"url": ["Invalid URL"]}}}}'
    assert portal_message(answer(by_field)) == "title: This field is required.; resources: 0: url: Invalid URL"
    assert portal_message(answer('{"message": "Item has another owner", "status": 400}')) == "Item has another owner"
    assert portal_message(answer("<html><body>Bad gateway</body></html>", 502)) == (
        "<html><body>Bad gateway</body></html>")
    assert portal_message(answer('["unexpected"]')) == "['unexpected']"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://data.example.org/files/Roads.CSV", "csv"),
    ("https://data.example.org/files/trees.geojson?download=1", "geojson"),
    ("https://data.example.org/files/table.parquet", "parquet"),
    ("gtfs.zip", "zip"),
    ("https://data.example.org/dataset/my.dataset", None),  # no extension, a dotted name
    ("https://data.example.org/v1.0", None),
    ("https://data.example.org/", None),
])
def test_file_extensions(url: str, expected: str | None) -> None:
    assert file_extension(url) == expected


def test_an_opendatasoft_file_s_format_from_its_name_else_its_media_type() -> None:
    assert file_format("odsfile://gtfs5.zip", "application/zip") == "zip"
    assert file_format("odsfile://stops.geojson", "") == "geojson"
    assert file_format("odsfile://notes", "application/pdf") == "pdf"
    assert file_format("odsfile://notes", "") is None


def test_inspire_themes_by_uri_over_http_or_https_and_by_their_register_s_title() -> None:
    assert is_inspire_theme_uri("http://inspire.ec.europa.eu/theme/hy")
    assert is_inspire_theme_uri("https://inspire.ec.europa.eu/theme/hy")
    assert not is_inspire_theme_uri("https://example.org/inspire.ec.europa.eu/theme/hy")
    assert not is_inspire_theme_uri(None)
    assert is_inspire_themes_title("GEMET - INSPIRE themes, version 1.0")
    assert is_inspire_themes_title("GEMET – INSPIRE Themes, Version 1.0")  # a typographic dash, other capitals
    assert not is_inspire_themes_title("GEMET") and not is_inspire_themes_title(None)


ISO_RECORD = """<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco">
  <gmd:fileIdentifier><gco:CharacterString>rivers</gco:CharacterString></gmd:fileIdentifier>
  <gmd:identificationInfo><gmd:MD_DataIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title><gco:CharacterString>Rivers</gco:CharacterString></gmd:title>
    </gmd:CI_Citation></gmd:citation>
    <gmd:descriptiveKeywords><gmd:MD_Keywords>
      <gmd:keyword><gco:CharacterString>Hydrographie</gco:CharacterString></gmd:keyword>
      <gmd:thesaurusName><gmd:CI_Citation>
        <gmd:title><gco:CharacterString>{thesaurus}</gco:CharacterString></gmd:title>
      </gmd:CI_Citation></gmd:thesaurusName>
    </gmd:MD_Keywords></gmd:descriptiveKeywords>
  </gmd:MD_DataIdentification></gmd:identificationInfo>
</gmd:MD_Metadata>"""


@pytest.mark.parametrize(("thesaurus", "tags"), [
    ("GEMET - INSPIRE themes, version 1.0", ["hydrographie", "inspire"]),
    ("GEMET – INSPIRE Themes, Version 1.0", ["hydrographie", "inspire"]),
    ("GEMET", ["hydrographie"]),
])
def test_iso_keywords_of_the_inspire_themes_thesaurus_are_marked(thesaurus: str, tags: list[str]) -> None:
    mapped = map_metadata(parse_xml(ISO_RECORD.format(thesaurus=thesaurus).encode()))
    assert mapped.dataset is not None and mapped.dataset.tags == tags


def test_every_dcat_contact_role_is_a_udata_role() -> None:
    assert {role for _, role in CONTACT_ROLES} <= UDATA_CONTACT_ROLES


def test_every_name_backends_base_offers_is_there() -> None:
    missing = [name for name in base.__all__ if not hasattr(base, name)]
    assert missing == []


#: The modules shared by every backend, on the framework's side of the surface (value clean-up, vocabularies).
SHARED_MODULES = {"backends/base.py", "backends/normalize.py", "backends/vocabularies.py"}


def framework_imports(path: Path) -> list[str]:
    """The `harvesters` modules a file imports, at its top or inside a function."""
    imported = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "harvesters":
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names if alias.name.split(".")[0] == "harvesters"]
    return imported


def test_a_backend_reaches_the_framework_only_through_backends_base() -> None:
    backends = [path for path in sorted((ROOT / "backends").rglob("*.py"))
                if path.relative_to(ROOT).as_posix() not in SHARED_MODULES]
    assert backends  # the protocols' modules were found
    reaching = {path.relative_to(ROOT).as_posix(): found for path in backends if (found := framework_imports(path))}
    assert reaching == {}
