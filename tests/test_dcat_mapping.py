"""The DCAT mapping as a pure function: Turtle in, mapped dataset out (no network, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pyoxigraph import RdfFormat

from backends.base import SkipRecord
from backends.dcat.mapping import map_dataservice, map_dataset
from backends.dcat.rdf import Page
from backends.dcat.records import page_records
from harvesters.licenses import LicenseIndex, load_license_file
from harvesters.models import Mapped
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from tests.servers.catalog import CatalogServer

PREFIXES = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix locn: <http://www.w3.org/ns/locn#> . @prefix schema: <http://schema.org/> .
@prefix time: <http://www.w3.org/2006/time#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix geodcat: <http://data.europa.eu/930/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix gsp: <http://www.opengis.net/ont/geosparql#> . @prefix org: <http://www.w3.org/ns/org#> .
"""
LICENSES = load_license_file()


def record(turtle: str, node: str = "http://data.test.org/d") -> dict:
    """The stored (JSON round-tripped) record of a dataset of a Turtle document."""
    page = Page((PREFIXES + turtle).encode(), RdfFormat.TURTLE, "http://data.test.org/catalog.ttl")
    (found,) = [r for r in page_records(page) if r.kind == "dataset" and r.data["@id"] == node]
    return json.loads(json.dumps(found.data))


def mapped(body: str, language: str = "fr", licenses: LicenseIndex | None = LICENSES) -> Mapped:
    return map_dataset(record(f"<http://data.test.org/d> a dcat:Dataset ; dct:title 'Title' ; {body} ."),
                       language, licenses)


# --- text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "Titre"), ("fra", "Titre"), ("fr-FR", "Titre"), ("en", "Title"), ("eng", "Title"), ("de", "Untagged"),
])
def test_the_configured_language_is_preferred_then_the_untagged_literal(language: str, expected: str) -> None:
    data = record("<http://data.test.org/d> a dcat:Dataset ; "
                  "dct:title 'Title'@en, 'Titre'@fr-FR, 'Untagged' .")
    assert map_dataset(data, language).dataset.title == expected


def test_without_the_language_or_an_untagged_literal_the_first_is_kept() -> None:
    data = record("<http://data.test.org/d> a dcat:Dataset ; dct:title 'Erster'@de .")
    assert map_dataset(data, "fr").dataset.title == "Erster"


def test_a_dataset_without_title_is_skipped() -> None:
    data = record("<http://data.test.org/d> a dcat:Dataset ; dct:description 'no title' .")
    with pytest.raises(SkipRecord, match=r"^missing title on dataset$"):
        map_dataset(data)


def test_description_falls_back_to_the_abstract_and_html_becomes_markdown() -> None:
    assert mapped("dct:abstract '<p>Some <b>bold</b> text</p>'").dataset.description == "Some **bold** text"
    assert mapped("dct:description 'Plain' ; dct:abstract 'Other'").dataset.description == "Plain"


def test_tags_are_slugified_unique_sorted_and_bounded() -> None:
    long = "x" * 120
    tags = mapped(f"dcat:keyword 'Zoo Keeper', 'zoo keeper', 'ab', '{long}', <http://keyword.test/uri> ; "
                  "dcat:theme 'Économie'").dataset.tags
    assert tags == ["economie", "x" * 96, "zoo-keeper"]  # URI keywords ignored, 'ab' too short


def test_theme_labels_hvd_and_inspire_markers() -> None:
    tags = mapped("dcat:theme <http://data.europa.eu/bna/c_b79e35eb>, <http://inspire.ec.europa.eu/theme/tn>, "
                  "[ skos:prefLabel 'Santé'@fr, 'Health'@en ] ").dataset.tags
    assert tags == ["hvd", "inspire", "mobilite", "sante"]


def test_an_inspire_theme_named_over_https_is_marked_too() -> None:
    assert mapped("dcat:theme <https://inspire.ec.europa.eu/theme/hy>").dataset.tags == ["inspire"]


# --- frequency, temporal, spatial ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("<http://purl.org/cld/freq/quarterly>", "quarterly"),
    ("<http://publications.europa.eu/resource/authority/frequency/WEEKLY_2>", "semiweekly"),
    ("[ a dct:Frequency ] , <http://publications.europa.eu/resource/authority/frequency/ANNUAL_3>", "threeTimesAYear"),
    ("'MONTHLY'", "monthly"),
    ("'irreg'", "irregular"),
    ("<http://purl.org/cld/freq/fortnightlyish>", None),
])
def test_frequency(value: str, expected: str | None) -> None:
    assert mapped(f"dct:accrualPeriodicity {value}").dataset.frequency == expected


def dates(coverage: object) -> tuple[str | None, str | None]:
    data = coverage.model_dump(mode="json") if coverage else {"start": None, "end": None}  # type: ignore[attr-defined]
    return (data["start"] or "")[:10] or None, (data["end"] or "")[:10] or None


@pytest.mark.parametrize(("value", "expected"), [
    ("'2016'", ("2016-01-01", "2016-12-31")),
    ("'2016-02'", ("2016-02-01", "2016-02-29")),
    ("'2015-03-01/2016'", ("2015-03-01", "2016-12-31")),
    ("'2015-03-01/..'", ("2015-03-01", None)),
    ("[ dcat:endDate '2020-05-01'^^xsd:date ]", (None, "2020-05-01")),
    ("[ schema:startDate '2019-01-01T00:00:00'^^xsd:dateTime ; schema:endDate '2019-06-30'^^xsd:date ]",
     ("2019-01-01", "2019-06-30")),
    ("[ time:hasBeginning [ time:inXSDDate '2001-01-01'^^xsd:date ] ; "
     "time:hasEnd [ time:inXSDDateTime '2002-01-01T12:00:00'^^xsd:dateTime ] ]", ("2001-01-01", "2002-01-01")),
    ("'2016-12-31/2016-01-01'", (None, None)),  # reversed
    ("<http://reference.data.gov.uk/id/year/2016>", (None, None)),  # never dereferenced
    ("'soon'", (None, None)),
])
def test_temporal_coverage(value: str, expected: tuple[str | None, str | None]) -> None:
    assert dates(mapped(f"dct:temporal {value}").dataset.temporal_coverage) == expected


def test_spatial_arcgis_bbox_literal() -> None:
    geom = mapped("dct:spatial '1,2,3,4'").dataset.spatial.geom.model_dump()  # type: ignore[union-attr]
    assert geom == {"type": "MultiPolygon", "coordinates": [[[[1, 2], [3, 2], [3, 4], [1, 4], [1, 2]]]]}


def test_spatial_keeps_valid_polygons_and_ignores_other_geometries() -> None:
    spatial = mapped(
        "dct:spatial [ locn:geometry 'SRID=4326;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))'^^gsp:wktLiteral ; "
        "rdfs:label 'POLYGON((9 9, 9 9, 9 9, 9 9))' ; "  # not a geometry datatype
        "dcat:bbox 'POLYGON((oops))'^^gsp:wktLiteral ; "
        "locn:geometry '{\"type\": \"Point\", \"coordinates\": [1, 2]}'^^gsp:geoJSONLiteral ]"
    ).dataset.spatial
    assert spatial.geom.coordinates == [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]  # type: ignore[union-attr]


@pytest.mark.parametrize("literal", [
    "'{\"type\": \"Polygon\", \"coordinates\": [[[0, 0], [1, NaN], [1, 1], [0, 0]]]}'^^gsp:geoJSONLiteral",
    "'POLYGON((0 0, 1 0, 1 1, 2 2))'^^gsp:wktLiteral",  # not closed
])
def test_an_invalid_polygon_leaves_spatial_unset(literal: str) -> None:
    assert mapped(f"dct:spatial [ locn:geometry {literal} ]").dataset.spatial is None


# --- license and access ---------------------------------------------------------------------------------


def test_the_dataset_license_wins_over_its_distributions() -> None:
    dataset = mapped("dct:license <https://creativecommons.org/licenses/by/4.0/> ; dcat:distribution "
                     "[ dcat:downloadURL <http://f.test/a.csv> ; "
                     "dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence> ]"
                     ).dataset
    assert dataset.license == "cc-by"


def test_distribution_licenses_are_used_when_the_dataset_has_none() -> None:
    dataset = mapped("dct:rights 'All rights reserved' ; dcat:distribution "
                     "[ dcat:downloadURL <http://f.test/a.csv> ; dct:license [ rdfs:label 'ODbL' ] ]").dataset
    assert dataset.license == "odc-odbl"
    assert dataset.extras["dcat"] == {"rights": ["All rights reserved"]}


def test_without_a_license_list_no_license_is_guessed() -> None:
    assert mapped("dct:license 'lov2'", licenses=None).dataset.license is None


@pytest.mark.parametrize("value", [
    "<http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/INSPIRE_Directive_Article13_1f>",
    "'L124-4-I-1 du code de l’environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.f)'",
    "[ rdfs:label \"L124-4-I-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.f)\"@fr ]",
])
def test_inspire_limitations_make_the_dataset_restricted_without_license(value: str) -> None:
    dataset = mapped(f"dct:accessRights {value} ; dct:license 'lov2'").dataset
    assert dataset.access_type == "restricted"
    assert dataset.access_type_reason_category == "confidentiality_of_personal_data"
    assert dataset.license is None


def test_no_limitations_keeps_the_dataset_open() -> None:
    dataset = mapped("dct:accessRights <http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
                     "noLimitations> ; dct:license 'lov2'").dataset
    assert (dataset.access_type, dataset.license) == (None, "lov2")


# --- contact points ------------------------------------------------------------------------------------


def test_contact_points_roles_names_and_emails() -> None:
    contacts = mapped(
        "dcat:contactPoint [ vcard:fn 'Jane' ; vcard:organization-name 'Agency' ; "
        "vcard:hasEmail <mailto:jane@a.test> ], "
        "[ vcard:fn 'Form only' ; vcard:hasURL <https://a.test/contact> ], [ vcard:fn 'Nothing to reach' ] ; "
        "dct:publisher [ foaf:name 'Agency' ; foaf:mbox 'mailto:info@a.test' ] ; "
        "geodcat:custodian [ foaf:name 'Bob' ; org:memberOf [ foaf:name 'Lab' ] ; foaf:mbox <mailto:bob@l.test> ] ; "
        "dct:creator [ foaf:name 'Agency' ; foaf:mbox 'mailto:info@a.test' ]"
    ).dataset.contact_points
    assert [(c.name, c.email, c.contact_form, c.role) for c in contacts] == [
        ("Jane (Agency)", "jane@a.test", None, "contact"),
        ("Form only", None, "https://a.test/contact", "contact"),
        ("Agency", "info@a.test", None, "publisher"),
        ("Agency", "info@a.test", None, "creator"),
        ("Bob (Lab)", "bob@l.test", None, "custodian"),
    ]


# --- resources ----------------------------------------------------------------------------------------


def resources(distributions: str) -> list[dict]:
    return [resource.model_dump(mode="json") for resource in mapped(distributions).dataset.resources]


@pytest.mark.parametrize(("language", "with_format", "nameless"), [
    ("fr", "Ressource geojson", "Ressource sans nom"),  # udata's words on data.gouv.fr
    ("en", "geojson resource", "Nameless resource"),
])
def test_resource_titles_fall_back_to_file_name_then_format_in_the_portal_language(
    language: str, with_format: str, nameless: str
) -> None:
    result = mapped("dct:title 'Title'@en ; dcat:distribution [ dcat:accessURL <http://f.test/data/file.csv?x=1> ], "
                    "[ dcat:downloadURL <http://f.test/api/> ; dct:format 'GeoJSON' ], "
                    "[ dcat:accessURL <http://f.test/api> ]", language)
    titles = [resource.title for resource in result.dataset.resources]
    assert sorted(titles) == sorted([with_format, nameless, "file.csv"])


def test_a_distribution_without_url_is_skipped_with_a_warning() -> None:
    result = mapped("dcat:distribution [ dct:title 'Lost' ], [ dcat:downloadURL <http://f.test/a.csv> ]")
    assert [r.url for r in result.dataset.resources] == ["http://f.test/a.csv"]
    assert result.warnings == ["Distribution 'Lost' skipped: it has no URL"]


def test_resource_format_mime_size_and_checksums() -> None:
    found = {r["url"]: r for r in resources(
        "dcat:distribution "
        "[ dcat:downloadURL <http://f.test/1> ;"
        "  dct:format <http://publications.europa.eu/resource/authority/file-type/CSV> ;"
        "  dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ; dcat:byteSize '1024'^^xsd:decimal ;"
        "  spdx:checksum [ spdx:algorithm spdx:checksumAlgorithm_md5 ;"
        "                  spdx:checksumValue 'D41D8CD98F00B204E9800998ECF8427E' ] ],"
        "[ dcat:downloadURL <http://f.test/2> ; dct:format [ rdfs:label 'Shapefile' ] ; dcat:byteSize 'big' ;"
        "  spdx:checksum [ spdx:algorithm spdx:checksumAlgorithm_sha512 ; spdx:checksumValue 'abc' ] ],"
        "[ dcat:downloadURL <http://f.test/3> ;"
        "  dct:format <https://www.iana.org/assignments/media-types/application/json> ;"
        "  spdx:checksum [ spdx:checksumValue 'da39a3ee5e6b4b0d3255bfef95601890afd80709' ] ]")}
    assert [(r["format"], r["mime"], r["filesize"], r["checksum"]) for r in found.values()] == [
        ("csv", "text/csv", 1024, {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}),
        ("shapefile", None, None, None),  # sha512 is not a udata checksum: ignored
        ("json", None, None, None),  # no algorithm: ignored
    ]


def test_access_services_make_api_resources_with_their_protocol() -> None:
    (resource,) = resources("dcat:distribution [ dcat:accessURL <http://f.test/wfs> ; dcat:accessService "
                            "[ a dcat:DataService ; dct:conformsTo <http://www.opengeospatial.org/standards/wfs> ] ]")
    assert (resource["type"], resource["format"]) == ("api", "wfs")


def test_has_part_documents_are_other_resources_but_datasets_are_not() -> None:
    data = record("<http://data.test.org/d> a dcat:Dataset ; dct:title 'T' ; "
                  "dct:hasPart <http://data.test.org/doc.pdf>, <http://data.test.org/child> . "
                  "<http://data.test.org/child> a dcat:Dataset ; dct:title 'Child' .")
    (resource,) = map_dataset(data).dataset.resources
    assert (resource.url, resource.type, resource.title) == ("http://data.test.org/doc.pdf", "other", "doc.pdf")


# --- dates and identity ---------------------------------------------------------------------------------


def test_future_and_unparseable_dates_are_dropped_with_a_warning() -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    result = mapped(f"dct:modified '{future}'^^xsd:date ; dct:issued 'last spring' ; dct:created '2020-02-02'")
    assert (result.remote.modified_at, result.remote.issued_at) == (None, None)
    assert result.remote.created_at == datetime(2020, 2, 2, tzinfo=UTC)
    assert result.warnings == ["Unparseable issue date 'last spring' ignored",
                               f"Future modification date '{future}' ignored"]


def test_remote_url_is_the_landing_page_else_the_node_uri() -> None:
    assert mapped("dcat:landingPage 'https://portal.test/d'").remote.remote_url == "https://portal.test/d"
    assert mapped("dcat:landingPage <urn:x:1>").remote.remote_url == "http://data.test.org/d"


def test_records_of_blank_nodes_without_identifier_are_skipped() -> None:
    page = Page((PREFIXES + "[] a dcat:Dataset ; dct:title 'Anonymous' .").encode(), RdfFormat.TURTLE,
                "http://data.test.org/catalog.ttl")
    (found,) = page_records(page)
    assert (found.remote_id, found.skip_reason) == ("", "missing identifier")


def test_title_less_datasets_only_served_or_parts_are_not_records() -> None:
    page = Page((PREFIXES + """
        <http://data.test.org/s> a dcat:DataService ; dct:title 'API' ; dcat:servesDataset <http://data.test.org/stub> .
        <http://data.test.org/stub> a dcat:Dataset .
        <http://data.test.org/real> a dcat:Dataset ; dct:title 'Real' .
    """).encode(), RdfFormat.TURTLE, "http://data.test.org/catalog.ttl")
    assert [(r.kind, r.remote_id) for r in page_records(page)] == [
        ("dataset", "http://data.test.org/real"), ("dataservice", "http://data.test.org/s")]


def test_a_data_service_maps_to_a_dataservice_payload_serving_remote_ids() -> None:
    page = Page((PREFIXES + """
        <http://data.test.org/s> a dcat:DataService ; dct:identifier 'api' ; dct:title 'API'@en, 'Interface'@fr ;
            dct:description '<p>An <b>API</b></p>' ; dcat:endpointURL <http://data.test.org/api/> ;
            dcat:endpointDescription <http://data.test.org/api/openapi.json> ;
            dcat:landingPage <http://data.test.org/console> ; dct:modified '2020-01-02T03:04:05Z'^^xsd:dateTime ;
            dcat:servesDataset <http://data.test.org/d1>, <http://data.test.org/d2> .
        <http://data.test.org/d1> a dcat:Dataset ; dct:identifier 'one' ; dct:title 'One' .
    """).encode(), RdfFormat.TURTLE, "http://data.test.org/catalog.ttl")
    (service,) = [found for found in page_records(page) if found.kind == "dataservice"]
    result = map_dataservice(json.loads(json.dumps(service.data)), "fr")
    assert result.dataset is None and result.dataservice is not None
    assert result.dataservice.model_dump() == {
        "title": "Interface", "description": "An **API**", "base_api_url": "http://data.test.org/api/",
        "machine_documentation_url": "http://data.test.org/api/openapi.json", "tags": [], "contact_points": [],
        "datasets": ["one", "http://data.test.org/d2"],  # dct:identifier when described, else the URI
        "extras": {},
    }
    assert (result.remote.remote_url, result.remote.uri, result.remote.dct_identifier) == (
        "http://data.test.org/console", "http://data.test.org/s", "api")
    assert result.remote.modified_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="exactly one of dataset and dataservice"):
        Mapped(dataset=None)


def test_an_invalid_language_tag_fails_the_record_with_the_reason(
    store: Store, catalog_server: CatalogServer
) -> None:
    """The page parser is lenient, so one malformed record fails its own item and the others go on."""
    rdf_xml = """<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
             xmlns:dct="http://purl.org/dc/terms/">
      <dcat:Dataset rdf:about="http://x.test/1"><dct:identifier>1</dct:identifier>
        <dct:title xml:lang="fr">Bon jeu</dct:title></dcat:Dataset>
      <dcat:Dataset rdf:about="http://x.test/2"><dct:identifier>2</dct:identifier>
        <dct:title xml:lang="fr_FR">Mauvais</dct:title></dcat:Dataset>
    </rdf:RDF>"""
    url = catalog_server.serve("/catalog.rdf", rdf_xml, "application/rdf+xml")
    source = register_source(store, name="lang", url=url, backend="dcat")
    job = Harvester(store).run(source)
    assert {item.remote_id: item.status for item in job.items} == {"1": "done", "2": "failed"}
    assert job.items[1].errors[0].message == "Invalid language tag 'fr_fr' on \"Mauvais\""
