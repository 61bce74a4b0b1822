"""csw-dcat: GeoNetwork's DCAT and GeoDCAT-AP pages replayed by startPosition, mapped by the DCAT mapping."""

from __future__ import annotations

import json

import pytest

from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import (
    CSW_PATH,
    fixture_pages,
    get_records,
    paged_records,
    replay,
    search_results,
    start_position,
)
from tests.shared import CORPUS, shared

DCAT_SCHEMA = "http://www.w3.org/ns/dcat#"
GEODCAT_SCHEMA = "http://data.europa.eu/930/"
GEONETWORK_IDENTIFIERS = [
    "0ac1d658-b8ce-4815-975b-1dd401ce01ed",
    "0ae299e7-10d6-4290-944e-c6c62e2aeabf",
    "fr-200053742/2019/limite/bud",
    "fr-200053742/2022/societe/plage_sans_plastique",
    "https://www.geo2france.fr/insee/partmenage5ans",
    "https://www.geo2france.fr/risque/catnat2023",
]
RDF_RECORD = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
  <dcat:Dataset rdf:about="https://example.org/datasets/{identifier}">
    <dct:identifier>{identifier}</dct:identifier>
    <dct:title>Dataset {identifier}</dct:title>{extra}
  </dcat:Dataset>
</rdf:RDF>"""


def harvest(cli: Cli, url: str, **config: object) -> dict:
    cli("source", "add", "geonetwork", url, "--backend", "csw-dcat", "--config", json.dumps(config))
    return cli.json("run", "geonetwork", expect=None)


def datasets_by_identifier(cli: Cli) -> dict[str, dict]:
    return {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}


@pytest.mark.parametrize(
    ("flavour", "config", "schema"),
    [("dcat", {}, DCAT_SCHEMA), ("geodcatap", {"features": {"geodcatap": True}}, GEODCAT_SCHEMA)],
)
def test_geonetwork_pages_harvest_six_datasets(
    cli: Cli, catalog_server: CatalogServer, flavour: str, config: dict, schema: str
) -> None:
    url = replay(catalog_server, fixture_pages(f"csw/geonetwork-{flavour}-page-{{}}.xml"))
    job = harvest(cli, url, **config)
    assert job["status"] == "done", job["errors"]
    assert sorted(item["remote_id"] for item in job["items"]) == GEONETWORK_IDENTIFIERS
    assert {item["status"] for item in job["items"]} == {"done"}
    requests = catalog_server.requests_to(CSW_PATH)
    assert [start_position(request) for request in requests] == [1, 3, 5]
    assert {get_records(request).get("outputSchema") for request in requests} == {schema}

    datasets = datasets_by_identifier(cli)
    bud = datasets["fr-200053742/2019/limite/bud"]
    assert bud["title"] == "Zonage du bassin urbain à dynamiser (BUD) de la Région Hauts-de-France - (2018-2020)"
    assert bud["description"].startswith("Zonage défini par un arrêté de 2018.")
    assert {"bassin-minier", "bud", "economie", "donnee-ouverte"} <= set(bud["tags"])
    assert bud["harvest"]["dct_identifier"] == "fr-200053742/2019/limite/bud"
    assert bud["harvest"]["backend"] == "csw-dcat"
    assert [resource["url"] for resource in bud["resources"]][0] == "https://www.geo2france.fr/geoserver/anct/ows"


def test_geonetwork_dcat_resources_and_landing_pages(cli: Cli, catalog_server: CatalogServer) -> None:
    harvest(cli, replay(catalog_server, fixture_pages("csw/geonetwork-dcat-page-{}.xml")))
    insee = datasets_by_identifier(cli)["https://www.geo2france.fr/insee/partmenage5ans"]
    # six distributions are referenced, five are described in the record (the WFS one is not)
    assert [resource["title"] for resource in insee["resources"]] == [
        "Métadonnées INSEE - data.gouv.fr",
        "insee.fr - données carroyées à 200 mètres",
        "Documentation générale - données carroyées",
        "Documentation complète - données carroyées à 200 mètres",
        "rectangles_200m_menage_erbm",
    ]
    assert insee["harvest"]["uri"] == (
        "https://www.geo2france.fr/geonetwork/srv/fre/catalog.search#/metadata/04bcec79-5b25-4b16-b635-73115f7456e4"
    )


def test_relative_dataset_iris_do_not_become_urls_on_the_csw_host(cli: Cli, catalog_server: CatalogServer) -> None:
    """GeoNetwork's GeoDCAT-AP names some datasets by a bare identifier (rdf:about="0ae299e7-...")."""
    url = replay(catalog_server, fixture_pages("csw/geonetwork-geodcatap-page-{}.xml"))
    harvest(cli, url, features={"geodcatap": True})
    datasets = datasets_by_identifier(cli)
    relative = datasets["0ae299e7-10d6-4290-944e-c6c62e2aeabf"]["harvest"]
    assert catalog_server.url not in (relative["remote_url"] or "")
    assert catalog_server.url not in (relative["uri"] or "")
    absolute = datasets["https://www.geo2france.fr/insee/partmenage5ans"]["harvest"]
    assert absolute["uri"] == "https://www.geo2france.fr/insee/partmenage5ans"


def test_page_size_is_sent_as_max_records(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, fixture_pages("csw/geonetwork-dcat-page-{}.xml"))
    harvest(cli, url, extra_configs=[{"key": "page_size", "value": 2}])
    assert {get_records(request).get("maxRecords") for request in catalog_server.requests_to(CSW_PATH)} == {"2"}


def test_unparseable_or_empty_record_fails_only_its_item(cli: Cli, catalog_server: CatalogServer) -> None:
    no_dataset = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                  'xmlns:dct="http://purl.org/dc/terms/"><rdf:Description rdf:about="https://example.org/x">'
                  '<dct:title>Not a dataset</dct:title></rdf:Description></rdf:RDF>')
    page = [
        RDF_RECORD.format(identifier="good-1", extra=""),
        RDF_RECORD.format(identifier="invalid", extra='<dct:license rdf:resource="https://a.org" rdf:nodeID="b"/>'),
        no_dataset,
        RDF_RECORD.format(identifier="good-2", extra=""),
    ]
    url = replay(catalog_server, {1: search_results(page, matched=4, next_record=0)})
    job = harvest(cli, url)
    assert job["status"] == "done-errors"
    items = {item["remote_id"]: item for item in job["items"]}
    assert sorted(items) == ["csw-record-3", "good-1", "good-2", "invalid"]
    assert items["good-1"]["status"] == items["good-2"]["status"] == "done"
    assert items["invalid"]["status"] == "failed"
    message = items["invalid"]["errors"][0]["message"]
    assert message.startswith("CSW record 2: Unable to parse") and "rdf:nodeID" in message
    assert "urn:x-csw" not in message
    assert items["csw-record-3"]["errors"][0]["message"] == "CSW record 3 holds no DCAT dataset"


def test_server_without_dcat_output_fails_the_job_with_its_exception(cli: Cli, catalog_server: CatalogServer) -> None:
    report = (b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">'
              b'<ows:Exception exceptionCode="InvalidParameterValue" locator="outputschema">'
              b'<ows:ExceptionText>Invalid outputSchema parameter value: http://www.w3.org/ns/dcat#</ows:ExceptionText>'
              b'</ows:Exception></ows:ExceptionReport>')
    url = catalog_server.serve(CSW_PATH, report, "application/xml")
    job = harvest(cli, url)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"] == (
        "Failed to query CSW: InvalidParameterValue (outputschema): "
        "Invalid outputSchema parameter value: http://www.w3.org/ns/dcat#"
    )


# --- the SEMIC GeoDCAT-AP corpus records ---------------------------------------------------------------------

SEMIC_RECORDS = ("semic-basic_dataset.rdf", "semic-multilingual-metadata.rdf",
                 "semic-multilingual-resource-description.rdf", "semic-network-service.rdf")
NETWORK_SERVICE_RECORD = "123e4567-e89b-12d3-a456-426655440123"


def semic(name: str) -> bytes:
    return shared(CORPUS / "csw-dcat" / name).read_bytes()


def test_semic_records_harvest_as_datasets_and_data_services_named_by_their_catalog_record(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = paged_records(catalog_server, [semic(name) for name in SEMIC_RECORDS])
    job = harvest(cli, url, features={"geodcatap": True}, extra_configs=[{"key": "page_size", "value": 2}])
    assert job["status"] == "done", job["errors"]
    assert [start_position(request) for request in catalog_server.requests_to(CSW_PATH)] == [1, 3]
    assert {item["remote_id"]: item["status"] for item in job["items"]} == {
        "http://www.my-organisation.eu/so/lu/land-use-map": "done",
        "https://cuzk.cz/CZ-00025712-CUZK_ATOM_DATA50": "done",
        "http://www.shom.fr/OCEANO/MODELE_HYDRODYN": "done",
        NETWORK_SERVICE_RECORD: "done",  # a blank-node data service: foaf:isPrimaryTopicOf/dcat:CatalogRecord
    }
    services = {service["harvest"]["remote_id"]: service for service in cli.json("dataservices", "list")}
    assert sorted(services) == [NETWORK_SERVICE_RECORD, "https://cuzk.cz/CZ-00025712-CUZK_ATOM_DATA50"]
    network = services[NETWORK_SERVICE_RECORD]
    assert (network["title"], network["base_api_url"]) == ("Land Use map of MyCountry",
                                                           "http://www.my-organisation.eu/wms")
    assert sorted(datasets_by_identifier(cli)) == ["http://www.my-organisation.eu/so/lu/land-use-map",
                                                   "http://www.shom.fr/OCEANO/MODELE_HYDRODYN"]


def test_a_record_with_no_identifier_anywhere_is_skipped_under_its_position(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    anonymous = semic("semic-network-service.rdf").replace(NETWORK_SERVICE_RECORD.encode(), b"")
    job = harvest(cli, paged_records(catalog_server, [semic("semic-basic_dataset.rdf"), anonymous]))
    items = {item["remote_id"]: item for item in job["items"]}
    assert items["csw-record-2"]["status"] == "skipped"
    assert items["csw-record-2"]["logs"][0]["message"] == (
        "CSW record 2: missing identifier (none on the resource nor on its catalog record)")
    assert items["http://www.my-organisation.eu/so/lu/land-use-map"]["status"] == "done"


def test_an_unparseable_record_without_identifier_fails_under_its_dataset_uri(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    broken = (RDF_RECORD.format(identifier="x", extra='<dct:license rdf:resource="https://a.org" rdf:nodeID="b"/>')
              .replace("<dct:identifier>x</dct:identifier>", ""))
    job = harvest(cli, replay(catalog_server, {1: search_results([broken], matched=1, next_record=0)}))
    assert [(item["remote_id"], item["status"]) for item in job["items"]] == [
        ("https://example.org/datasets/x", "failed")]
