"""What real DCAT catalogs write and the mapping reads faithfully: POD data.json, multilingual records,
EU access rights, name-only agents, service protocols, schemas, spatial resolutions, documents without any
dataset. Small documents written here show each rule; tests/test_corpus.py shows them on the real ones."""

from __future__ import annotations

import json

import pytest
from pyoxigraph import RdfFormat

from backends.dcat.mapping import Node, choose_language, map_dataservice, map_dataset
from backends.dcat.rdf import POD_CONTEXT, Page, type_pod_catalog
from backends.dcat.records import page_records
from harvesters.models import Dataset
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.test_dcat_mapping import PREFIXES, mapped, record

# --- DCAT-US / POD data.json ------------------------------------------------------------------------------

POD = {
    "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
    "dataset": [
        {"title": "Bus stops", "identifier": "bus-stops", "modified": "R/P1W", "issued": "2013",
         "accrualPeriodicity": "R/P1D", "keyword": ["transit", "de l'espace"],
         "publisher": {"name": "City Transit"},
         "contactPoint": {"fn": "Data desk", "hasEmail": "mailto:data@city.test"},
         "distribution": [{"downloadURL": "https://city.test/stops.csv", "mediaType": "text/csv"},
                          {"downloadURL": "https://city.test/stops.csv", "format": "CSV", "title": "Stops (copy)"}]},
        {"title": "Permits", "identifier": "10.5439/1027266", "modified": "2004-02",
         "distribution": [{"accessURL": "https://city.test/permits", "format": "cdf"}]},
    ],
}


@pytest.mark.parametrize("context", [None, POD_CONTEXT])
def test_a_pod_catalog_without_types_is_harvested(cli: Cli, catalog_server: CatalogServer, context: str | None) -> None:
    document = {**POD, "@context": context} if context else POD
    url = catalog_server.serve("/data.json", json.dumps(document), "application/json")
    job = cli.json("run", url, "--backend", "dcat")
    assert (job["status"], sorted(item["remote_id"] for item in job["items"])) == (
        "done", ["10.5439/1027266", "bus-stops"])
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    stops, permits = datasets["bus-stops"], datasets["10.5439/1027266"]
    assert stops["frequency"] == "daily"  # accrualPeriodicity R/P1D wins over the repeating `modified`
    assert stops["harvest"]["issued_at"].startswith("2013-01-01")  # a year alone: its first day, not today's
    assert stops["harvest"]["modified_at"] is None  # R/P1W is a frequency, not a date: no warning either
    assert [log["message"] for log in job["items"][0]["logs"]] == ["Dataset created"]
    assert stops["tags"] == ["de-lespace", "transit"]
    assert [(c["name"], c["email"], c["role"]) for c in stops["contact_points"]] == [
        ("Data desk", "data@city.test", "contact"), ("City Transit", None, "publisher")]
    (stops_file,) = stops["resources"]  # two distributions of one URL: one resource
    assert (stops_file["title"], stops_file["format"], stops_file["mime"]) == ("stops.csv", "csv", "text/csv")
    assert permits["harvest"]["dct_identifier"] == "10.5439/1027266"  # a DOI identifier, kept
    assert permits["harvest"]["modified_at"].startswith("2004-02-01")
    assert permits["resources"][0]["title"] == "Ressource cdf"


def test_only_pod_catalogs_are_typed() -> None:
    assert type_pod_catalog({"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "dataset": [{"title": "x"}]}) is False
    assert type_pod_catalog([{"dataset": []}]) is False
    typed = {"conformsTo": POD["conformsTo"], "dataset": [{"@type": "dcat:Dataset"}, {"title": "untyped"}]}
    assert type_pod_catalog(typed) is True
    assert typed["@context"] == POD_CONTEXT and typed["dataset"][1]["@type"] == "dcat:Dataset"


# --- documents without datasets ---------------------------------------------------------------------------


def test_a_document_without_any_dataset_fails_the_job_saying_what_it_holds(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = catalog_server.serve("/catalog.ttl", """
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix foaf: <http://xmlns.com/foaf/0.1/> .
        <http://data.test.org/c> a dcat:Catalog ; dcat:record <http://data.test.org/r> .
        <http://data.test.org/o> a foaf:Organization ; foaf:name "Org" .
    """, "text/turtle")
    job = cli.json("run", url, "--backend", "dcat", expect=1)
    assert job["status"] == "failed"
    assert [error["message"] for error in job["errors"]] == [
        f"No DCAT dataset nor data service in {url}: 4 triples, types seen: dcat:Catalog (1), foaf:Organization (1)"]
    report = cli("run", url, "--backend", "dcat", expect=1).stdout
    assert "No DCAT dataset nor data service in" in report and "types seen" in report


# --- multilingual records ---------------------------------------------------------------------------------


def test_a_record_never_mixes_languages() -> None:
    body = ("dct:title 'Transport network'@en, 'Red de transporte'@es ; "
            "dct:description 'Red de transporte público'@es, 'Public transport network'@en ; "
            "dcat:keyword 'bus'@en, 'autobús'@es, 'gtfs' ; "
            "dcat:distribution [ dct:title 'Stops'@en, 'Paradas'@es ; dcat:downloadURL <http://f.test/stops.csv> ]")
    dataset = map_dataset_body(body, "fr")
    assert (dataset.title, dataset.description) == ("Transport network", "Public transport network")
    assert dataset.tags == ["bus", "gtfs"]  # the record's language and the untagged ones
    assert [resource.title for resource in dataset.resources] == ["Stops"]
    assert map_dataset_body(body, "es").title == "Red de transporte"  # the configured language when there


def test_the_language_most_texts_share_wins_over_the_title_order() -> None:
    body = ("dct:title 'Stations'@en, 'Stazioni'@it ; dct:description 'Stazioni di misura'@it ; "
            "dcat:keyword 'stazione'@it")
    assert map_dataset_body(body, "fr").title == "Stazioni"


def test_choose_language_without_any_tag_reads_untagged_texts() -> None:
    data = record("<http://data.test.org/d> a dcat:Dataset ; dct:title 'Plain' .")
    assert choose_language(Node(data["graph"], data["@id"]), "fr") == ""


def map_dataset_body(body: str, language: str) -> Dataset:
    dataset = map_dataset(record(f"<http://data.test.org/d> a dcat:Dataset ; {body} ."), language).dataset
    assert dataset is not None
    return dataset


# --- rights and contacts ----------------------------------------------------------------------------------

ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"


@pytest.mark.parametrize(("code", "expected"), [
    ("PUBLIC", "open"), ("RESTRICTED", "restricted"), ("NON_PUBLIC", "restricted"),
])
def test_eu_access_rights_set_the_access_type(code: str, expected: str) -> None:
    assert mapped(f"dct:accessRights <{ACCESS_RIGHT}{code}>").dataset.access_type == expected


def test_eu_access_rights_of_every_distribution_alike_count_too() -> None:
    both = mapped(f"dcat:distribution [ dcat:downloadURL <http://f.test/a> ; dct:accessRights <{ACCESS_RIGHT}"
                  f"NON_PUBLIC> ], [ dcat:downloadURL <http://f.test/b> ; "
                  f"dct:accessRights <{ACCESS_RIGHT}NON_PUBLIC> ]")
    assert both.dataset.access_type == "restricted"
    mixed = mapped(f"dcat:distribution [ dcat:downloadURL <http://f.test/a> ; dct:accessRights <{ACCESS_RIGHT}"
                   f"NON_PUBLIC> ], [ dcat:downloadURL <http://f.test/b> ]")
    assert mixed.dataset.access_type is None


def test_a_license_every_distribution_states_is_lifted_and_an_unknown_one_kept() -> None:
    dataset = mapped("dcat:distribution [ dcat:downloadURL <http://f.test/a> ; dct:license <http://l.test/own> ], "
                     "[ dcat:downloadURL <http://f.test/b> ; dct:license <http://l.test/own> ]").dataset
    assert dataset.license is None
    assert dataset.extras == {"dcat": {"license": ["http://l.test/own"]}, "harvest:license": "http://l.test/own"}
    known = mapped("dct:license <http://dcat-ap.de/def/licenses/cc-by/4.0>").dataset
    assert known.license == "cc-by" and "harvest:license" not in known.extras


def test_agents_other_than_the_contact_need_only_a_name() -> None:
    contacts = mapped(
        "dcat:contactPoint [ vcard:fn 'Nameless desk' ] ; "  # a contact without email nor form: left out
        "dct:publisher [ foaf:name 'Publisher' ] ; dct:creator [ foaf:name 'Creator' ; foaf:mbox 'c(at)lab.test' ] ; "
        "dct:rightsHolder <http://data.test.org/org/unnamed> ; "  # no name, no email: left out
        "<http://www.w3.org/ns/adms#contactPoint> [ vcard:fn 'Desk' ; vcard:hasEmail 'desk [at] city.test' ]"
    ).dataset.contact_points
    assert [(c.name, c.email, c.role) for c in contacts] == [
        ("Desk", "desk@city.test", "contact"), ("Publisher", None, "publisher"), ("Creator", "c@lab.test", "creator")]


def test_a_contact_whose_email_cannot_be_read_is_kept_by_its_form() -> None:
    (contact,) = mapped("dcat:contactPoint [ vcard:fn 'Desk' ; vcard:hasEmail 'write to us' ; "
                        "vcard:hasURL <https://city.test/contact> ]").dataset.contact_points
    assert (contact.name, contact.email, contact.contact_form) == ("Desk", None, "https://city.test/contact")


# --- resources --------------------------------------------------------------------------------------------


def test_an_access_service_s_protocol_gives_the_format_first() -> None:
    (layer,) = mapped(
        "dcat:distribution [ dcat:accessURL <http://f.test/ows> ; dct:format <http://publications.europa.eu/"
        "resource/authority/file-type/TIFF> ; dcat:accessService [ a dcat:DataService ; "
        "geodcat:serviceProtocol <http://www.opengis.net/def/serviceType/ogc/wfs> ] ]").dataset.resources
    assert (layer.type, layer.format, layer.title) == ("api", "wfs", "Ressource wfs")


def test_a_blank_format_node_is_read_through_its_rdf_value() -> None:
    (pdf,) = mapped("dcat:distribution [ dcat:downloadURL <http://f.test/report> ; "
                    "dct:format [ a dct:IMT ; <http://www.w3.org/1999/02/22-rdf-syntax-ns#value> 'application/pdf' ] ]"
                    ).dataset.resources
    assert (pdf.format, pdf.mime) == ("pdf", "application/pdf")


def test_layers_of_one_service_stay_apart_while_one_file_is_one_resource() -> None:
    layer = ("[ dct:title '{0}' ; dcat:accessURL <http://f.test/wms> ; dcat:accessService [ a dcat:DataService ; "
             "dct:conformsTo <http://www.opengeospatial.org/standards/wms> ] ]")
    resources = mapped("dcat:distribution " + ", ".join([
        layer.format("Roads"), layer.format("Rivers"),
        "[ dct:title 'Data' ; dcat:downloadURL <http://f.test/data.csv> ]",
        "[ dcat:downloadURL <http://f.test/data.csv> ; dcat:byteSize 12 ]"])).dataset.resources
    assert sorted((r.title, r.filesize) for r in resources) == [("Data", 12), ("Rivers", None), ("Roads", None)]


def test_conforms_to_names_the_resource_schema_but_not_a_metadata_profile() -> None:
    schema_doc, profile_doc = mapped(
        "dcat:distribution [ dcat:downloadURL <http://f.test/a.csv> ; dct:conformsTo <https://schema.test/irve> ], "
        "[ dcat:downloadURL <http://f.test/b.csv> ; dct:conformsTo <http://dcat-ap.de/def/dcatde/> ] . "
        "<https://schema.test/irve> rdfs:label 'IRVE' ; <http://www.w3.org/2002/07/owl#versionInfo> '2.3.1'"
    ).dataset.resources
    assert schema_doc.model_dump(mode="json")["schema"] == {"name": "IRVE", "url": "https://schema.test/irve",
                                                            "version": "2.3.1"}
    assert profile_doc.schema_ is None and "schema" not in profile_doc.model_dump(mode="json")


def test_spatial_resolutions_are_kept_in_the_dcat_extras() -> None:
    dataset = mapped(
        "dcat:spatialResolutionInMeters '10'^^xsd:decimal ; <http://www.w3.org/ns/dqv#hasQualityMeasurement> "
        "[ <http://www.w3.org/ns/dqv#isMeasurementOf> <http://data.europa.eu/930/spatialResolutionAsScale> ; "
        "<http://www.w3.org/ns/dqv#value> '25000' ]").dataset
    assert dataset.extras["dcat"] == {"spatialResolutionInMeters": ["10"], "spatialResolutionAsScale": ["25000"]}


def test_temporal_coverage_is_written_as_dates_and_spatial_granularity_defaults_to_other() -> None:
    dataset = mapped("dct:temporal [ dcat:startDate '2020-03-01T00:00:00+01:00'^^xsd:dateTime ; "
                     "dcat:endDate '2024'^^xsd:gYear ] ; dct:spatial [ locn:geometry "
                     "'POLYGON((0 0, 1 0, 1 1, 0 0))'^^gsp:wktLiteral ]").dataset.model_dump(mode="json")
    assert dataset["temporal_coverage"] == {"start": "2020-03-01", "end": "2024-12-31"}
    assert dataset["spatial"]["granularity"] == "other"


# --- data services ----------------------------------------------------------------------------------------


def test_data_services_keep_their_tags_and_contact_points() -> None:
    page = Page((PREFIXES + """<http://data.test.org/s> a dcat:DataService ; dct:identifier 'api' ;
        dct:title 'API'@en ; dcat:keyword 'Open data'@en, 'Données'@de ; dcat:endpointURL <http://data.test.org/api> ;
        dcat:contactPoint [ vcard:fn 'Support' ; vcard:hasEmail <mailto:support@data.test.org> ] ;
        dct:publisher [ foaf:name 'Agency' ] .""").encode(), RdfFormat.TURTLE, "http://data.test.org/catalog.ttl")
    (found,) = page_records(page)
    service = map_dataservice(json.loads(json.dumps(found.data)), "fr").dataservice
    assert service is not None
    assert service.tags == ["open-data"]  # the record's language (en): its title's
    assert [(c.name, c.email, c.role) for c in service.contact_points] == [
        ("Support", "support@data.test.org", "contact"), ("Agency", None, "publisher")]


def test_a_data_service_serving_a_dataset_of_another_page_is_linked_to_it(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    prefixes = "@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> ."
    base = catalog_server.url
    catalog_server.serve("/catalog.ttl", f"""{prefixes} @prefix hydra: <http://www.w3.org/ns/hydra/core#> .
        <{base}/services/api> a dcat:DataService ; dct:identifier "api" ; dct:title "API" ;
            dcat:servesDataset <{base}/datasets/roads> .
        <{base}/catalog.ttl> hydra:next <{base}/catalog.ttl?page=2> .""", "text/turtle")
    catalog_server.serve("/catalog.ttl?page=2", f"""{prefixes}
        <{base}/datasets/roads> a dcat:Dataset ; dct:identifier "roads-42" ; dct:title "Roads" .""", "text/turtle")
    job = cli.json("run", f"{base}/catalog.ttl", "--backend", "dcat")
    assert job["status"] == "done"
    (dataset,) = cli.json("datasets", "list")
    (service,) = cli.json("dataservices", "list")
    assert dataset["harvest"]["remote_id"] == "roads-42"
    assert service["datasets"] == [{"class": "Dataset", "id": dataset["id"]}]


# --- JSON-LD contexts -------------------------------------------------------------------------------------


def test_the_dcat_ap_3_examples_context_is_bundled(cli: Cli, catalog_server: CatalogServer) -> None:
    document = {
        "@context": "https://semiceu.github.io/uri.semic.eu-generated/DCAT-AP/releases/3.0.0/html/examples/context.jsonld",
        "@graph": [{"@id": "example-ds:Bees", "@type": "Dataset", "title": {"en": "Bees"}, "releaseDate": "2022-03-01",
                    "geographicalCoverage": "https://sws.geonames.org/734077"}],
    }
    url = catalog_server.serve("/bees.jsonld", json.dumps(document), "application/ld+json")
    job = cli.json("run", url, "--backend", "dcat")
    assert job["status"] == "done"
    (dataset,) = cli.json("datasets", "list")
    assert (dataset["title"], dataset["harvest"]["remote_id"]) == ("Bees", "https://data.gov.gr/id/dataset/Bees")
    assert dataset["harvest"]["issued_at"].startswith("2022-03-01")
    assert [request.path for request in catalog_server.requests] == ["/bees.jsonld"]  # nothing else fetched
