"""csw-iso-19139: the native ISO 19139 mapping on the real fixtures, then whole harvests.

The mapping is tested on the fixture records alone (no network); harvests go through the CLI,
against recorded GeoNetwork pages replayed by startPosition and against a real pycsw 2.6.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from backends.base import SkipRecord
from backends.csw.iso19139 import GMD, map_metadata, service_format
from backends.normalize import normalize_tags
from harvesters.http import parse_xml
from harvesters.licenses import LicenseIndex
from harvesters.models import Mapped
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import fixture_pages, replay
from tests.servers.pycsw_server import PycswServer, generate_iso_records, split_iso_records
from tests.shared import fixture_path
from tests.tiers import starts

GEONETWORK_PAGES = ("geonetwork-iso19139-page-1.xml", "geonetwork-iso19139-page-3.xml",
                    "geonetwork-iso19139-page-5.xml")
RPG = "geoplateforme-iso19139-IGNF_RPG.xml"
GEOIDE = "geoide-iso19139-single-dataset.xml"
CARTIGNY = "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44"
GEONETWORK_IDENTIFIERS = sorted([
    CARTIGNY,
    "fr-120066022-ldd-777b1c6b-36a7-4650-befa-e4be638cd694",
    "fr-120066022-jdd-585c9cd3-d542-407a-b6a5-885f062b0024",
    "fr-120066022-ldd-05ba3a8c-ee8a-4dd5-a86a-15b6d6cd1bc8",
    "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6",
    "fr-120066022-ldd-1d31b525-5f0e-4fd2-8ab4-cad099333b5c",
])
#: A portal license list in the shape of GET /api/1/datasets/licenses/ (the URL geo-ide records cite).
LICENSES = [
    {"id": "lov1", "title": "Licence Ouverte", "url": "http://www.data.gouv.fr/Licence-Ouverte-Open-Licence",
     "alternate_urls": [], "alternate_titles": []},
    {"id": "lov2", "title": "Licence Ouverte / Open Licence version 2.0",
     "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
     "alternate_urls": ["https://www.etalab.gouv.fr/wp-content/uploads/2018/11/open-licence.pdf",
                        "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf"],
     "alternate_titles": []},
]


def records(name: str) -> list[etree._Element]:
    """The gmd:MD_Metadata records of a fixture GetRecordsResponse."""
    return parse_xml(fixture_path(f"csw/{name}").read_bytes()).xpath("//gmd:MD_Metadata", namespaces={"gmd": GMD})


def by_identifier(*names: str) -> dict[str, etree._Element]:
    return {record.findtext(f"{{{GMD}}}fileIdentifier/*").strip(): record for name in names for record in records(name)}


def mapped(name: str, identifier: str | None = None, **options: object) -> Mapped:
    found = by_identifier(name)
    return map_metadata(found[identifier] if identifier else next(iter(found.values())), LicenseIndex(LICENSES),
                        **options)


def edit(record: etree._Element, path: str, text: str) -> etree._Element:
    """A copy of `record` whose first element at `path` holds `text`."""
    copy = etree.fromstring(etree.tostring(record))
    copy.xpath(path, namespaces={"gmd": GMD, "gco": "http://www.isotc211.org/2005/gco"})[0].text = text
    return copy


# --- mapping ------------------------------------------------------------------------------------------------


def test_rpg_has_its_seventy_service_resources() -> None:
    dataset = mapped(RPG).dataset
    assert len(dataset.resources) == 70
    assert {resource.type for resource in dataset.resources} == {"api"}
    assert Counter(resource.format for resource in dataset.resources) == {"wms": 23, "wmts": 23, "wfs": 24}
    first = dataset.resources[0]
    assert (first.title, first.description) == ("LANDUSE.AGRICULTURE.LATEST", "RPG Dernière édition")
    assert first.url == "https://data.geopf.fr/wms-r/wms?service=wms&version=1.3.0&request=GetCapabilities"
    # 9 documentation links and a download link without function code are not distributions
    urls = {resource.url for resource in dataset.resources}
    assert "https://data.geopf.fr/telechargement/resource/RPG" not in urls
    assert not any(url.endswith(".pdf") for url in urls)


def test_rpg_download_link_is_kept_when_asked_by_protocol() -> None:
    resources = mapped(RPG, protocol_downloads=True).dataset.resources
    assert len(resources) == 71
    download = next(resource for resource in resources if resource.type == "main")
    assert (download.title, download.url) == ("RPG", "https://data.geopf.fr/telechargement/resource/RPG")


def test_rpg_metadata() -> None:
    result = mapped(RPG)
    dataset, remote = result.dataset, result.remote
    assert dataset.title == "RPG"
    assert dataset.description.startswith("Le Registre Parcellaire Graphique (RPG) est le système")
    assert {"inspire", "hvd", "land-cover", "occupation-des-terres", "rpg", "lpis", "donnees-ouvertes"} <= set(
        dataset.tags)
    assert dataset.frequency == "annual"
    assert dataset.temporal_coverage.start == datetime(2007, 1, 1, tzinfo=UTC)
    assert dataset.temporal_coverage.end == datetime(2025, 1, 1, tzinfo=UTC)
    assert dataset.spatial.geom.type == "MultiPolygon"
    assert len(dataset.spatial.geom.coordinates) == 6  # metropole and five overseas departments
    assert dataset.spatial.geom.coordinates[0] == [
        [[-5.15, 41.32], [9.57, 41.32], [9.57, 51.1], [-5.15, 51.1], [-5.15, 41.32]]
    ]
    assert [(c.name, c.email, c.role) for c in dataset.contact_points] == [
        ("Institut national de l'information géographique et forestière (IGN-F)", "contact.geoservices@ign.fr",
         "contact")
    ]
    assert dataset.access_type is None  # "noLimitations"
    assert dataset.license == "lov2"  # the Anchor to the open licence PDF
    assert (remote.dct_identifier, remote.issued_at, remote.modified_at) == (
        "IGNF_RPG", datetime(2007, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert dataset.extras["iso"]["access_constraints"] == [
        "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/noLimitations",
        "Pas de restriction d'accès public selon INSPIRE",
    ]


def test_geonetwork_record_with_inspire_article_13_limitation_is_restricted() -> None:
    result = mapped(GEONETWORK_PAGES[0], CARTIGNY)
    dataset = result.dataset
    assert dataset.title == "Plan local d'urbanisme de la commune de Cartigny"
    assert dataset.description == ("Le présent standard de données COVADIS concerne les documents de plans locaux "
                                   "d'urbanisme (PLU) et les plans d'occupation des sols (POS qui valent PLU).")
    # otherConstraints: "L124-4-I-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.d)"
    assert dataset.access_type == "restricted"
    assert dataset.access_type_reason_category == "confidentiality_of_commercial_or_industrial_information"
    assert dataset.license is None
    assert dataset.tags == normalize_tags(["Aménagement Urbanisme/Zonages Planification", "Usage des sols", "inspire",
                                           "cartigny", "document d'urbanisme", "plu", "données ouvertes"])
    assert result.remote.dct_identifier == (
        "http://catalogue.geo-ide.developpement-durable.gouv.fr/"
        "fr-120066022-orphan-residentifier-140d31c6-643d-42a9-85df-2737a118e144")
    assert (result.remote.created_at, result.remote.issued_at) == (
        datetime(2013, 3, 8, tzinfo=UTC), datetime(2017, 10, 7, tzinfo=UTC))
    assert dataset.contact_points[0].name == (
        "DDTM 80 (Direction Départementale des Territoires et de la Mer de la Somme)")
    assert dataset.contact_points[0].email == "ddtm-sap-bsig@somme.gouv.fr"
    assert dataset.spatial.geom.coordinates == [[[[3.28133559, 49.38547516], [1.31279111, 49.38547516],
                                                  [1.31279111, 50.48188019], [3.28133559, 50.48188019],
                                                  [3.28133559, 49.38547516]]]]
    # only the link with a download function code is a distribution
    assert [(r.title, r.type) for r in dataset.resources] == [
        ("Téléchargement direct du lot et des documents associés", "main")]
    assert dataset.resources[0].url == (
        "http://atom.geo-ide.developpement-durable.gouv.fr/atomArchive/GetResource?"
        "id=fr-120066022-ldd-cab63273-b3ae-4e8a-ae1c-6192e45faa94&datasetAggregate=true")


def test_geoide_license_from_use_limitation_and_services_from_getcapabilities_urls() -> None:
    dataset = mapped(GEOIDE).dataset
    assert dataset.title == "Plan local d'urbanisme de la commune de Combles"
    assert dataset.license == "lov1"  # "Licence Ouverte 1.0 http://www.data.gouv.fr/Licence-Ouverte-Open-Licence."
    assert dataset.access_type is None
    assert Counter((r.type, r.format) for r in dataset.resources) == {
        ("main", None): 2, ("api", "wms"): 2, ("api", "wfs"): 2}


def test_other_geonetwork_records_map_without_warnings() -> None:
    results = {identifier: map_metadata(record, LicenseIndex(LICENSES))
               for identifier, record in by_identifier(*GEONETWORK_PAGES).items()}
    assert sorted(results) == GEONETWORK_IDENTIFIERS
    assert all(not result.warnings for result in results.values())
    servitude = results["fr-120066022-jdd-585c9cd3-d542-407a-b6a5-885f062b0024"].dataset
    assert servitude.license == "lov2"  # ETALAB-Licence-Ouverte-v2.0.pdf in the use limitation
    assert servitude.contact_points[0].role == "rightsHolder"  # ISO "owner"


def test_missing_title_skips_and_bad_values_are_dropped_not_fatal() -> None:
    record = by_identifier(RPG)["IGNF_RPG"]
    title = "gmd:identificationInfo/*/gmd:citation/*/gmd:title/gco:CharacterString"
    with pytest.raises(SkipRecord, match="missing title on dataset"):
        map_metadata(edit(record, title, " "))
    broken = edit(record, "(//gmd:westBoundLongitude/gco:Decimal)[1]", "NaN")
    future = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    broken = edit(broken, "gmd:identificationInfo/*/gmd:citation/*/gmd:date[2]/*/gmd:date/gco:Date", future)
    broken = edit(broken, "gmd:identificationInfo/*/gmd:citation/*/gmd:date[1]/*/gmd:date/gco:Date", "someday")
    result = map_metadata(broken)
    assert result.dataset.spatial is None
    assert (result.remote.issued_at, result.remote.modified_at) == (None, None)
    assert result.warnings == ["Unparseable publication date 'someday' ignored",
                               f"Future revision date '{future}' ignored"]
    assert len(result.dataset.resources) == 70


def test_inspire_limitation_anchor_restricts_access_and_leaves_no_license() -> None:
    record = by_identifier(RPG)["IGNF_RPG"]
    anchor = record.xpath("//gmx:Anchor[contains(@xlink:href, 'noLimitations')]", namespaces={
        "gmx": "http://www.isotc211.org/2005/gmx", "xlink": "http://www.w3.org/1999/xlink"})[0]
    anchor.set("{http://www.w3.org/1999/xlink}href", "http://inspire.ec.europa.eu/metadata-codelist/"
               "LimitationsOnPublicAccess/INSPIRE_Directive_Article13_1b")
    dataset = map_metadata(record, LicenseIndex(LICENSES)).dataset
    assert (dataset.access_type, dataset.access_type_reason_category) == (
        "restricted", "international_relations_public_security_or_national_defence")
    assert dataset.license is None


@pytest.mark.parametrize(("protocol", "url", "expected"), [
    ("OGC:WMS", "https://example.org/ows", "wms"),
    ("OGC:WFS-1.1.0-http-get-capabilities", "https://example.org/ows", "wfs"),
    ("ESRI:REST", "https://example.org/arcgis/rest/services/x/MapServer", "esri-rest"),
    ("", "https://example.org/wxs?map=x&SERVICE=WFS&REQUEST=GetCapabilities", "wfs"),
    ("WWW:LINK-1.0-http--link", "https://example.org/page", None),
    ("WWW:DOWNLOAD-1.0-http--download", "https://example.org/data.zip", None),
])
def test_service_detection(protocol: str, url: str, expected: str | None) -> None:
    assert service_format(protocol, url) == expected


# --- harvests -----------------------------------------------------------------------------------------------


def datasets(cli: Cli) -> dict[str, dict]:
    return {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}


def harvest(cli: Cli, url: str, **config: object) -> dict:
    cli("source", "add", "csw", url, "--backend", "csw-iso-19139", "--config", json.dumps(config))
    return cli.json("run", "csw", expect=None)


def test_geonetwork_iso_pages_harvest_six_datasets(cli: Cli, catalog_server: CatalogServer,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    licenses = tmp_path / "licenses.json"
    licenses.write_text(json.dumps(LICENSES))
    monkeypatch.setenv("HARVEST_LICENSES_FILE", str(licenses))
    url = replay(catalog_server, fixture_pages("csw/geonetwork-iso19139-page-{}.xml"))
    job = cli.json("run", url, "--backend", "csw-iso-19139")
    assert job["status"] == "done"
    assert sorted(item["remote_id"] for item in job["items"]) == GEONETWORK_IDENTIFIERS
    found = datasets(cli)
    cartigny = found[CARTIGNY]
    assert cartigny["access_type"] == "restricted"
    assert cartigny["harvest"]["backend"] == "csw-iso-19139"
    assert cartigny["harvest"]["remote_url"] == (
        f"{url}?service=CSW&version=2.0.2&request=GetRecordById&id={CARTIGNY}"
        "&outputSchema=http%3A%2F%2Fwww.isotc211.org%2F2005%2Fgmd&elementSetName=full")
    assert found["fr-120066022-ldd-1d31b525-5f0e-4fd2-8ab4-cad099333b5c"]["license"] == "lov1"

    again = cli.json("run", url, "--backend", "csw-iso-19139")
    assert [log["message"] for item in again["items"] for log in item["logs"]] == ["Dataset unchanged"] * 6


def test_remote_url_prefix(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, {1: fixture_path(f"csw/{GEOIDE}")})
    prefix = "https://catalogue.example.org/srv/fre/catalog.search#/metadata/"
    harvest(cli, url, extra_configs=[{"key": "remote_url_prefix", "value": prefix}])
    dataset = datasets(cli)["fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6"]
    assert dataset["harvest"]["remote_url"] == prefix + "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6"


def test_rpg_record_harvests_with_seventy_resources(cli: Cli, catalog_server: CatalogServer) -> None:
    url = replay(catalog_server, {1: f"csw/{RPG}"})
    job = cli.json("run", url, "--backend", "csw-iso-19139")
    assert [(item["remote_id"], item["status"]) for item in job["items"]] == [("IGNF_RPG", "done")]
    dataset = datasets(cli)["IGNF_RPG"]
    assert len(dataset["resources"]) == 70
    assert len({resource["id"] for resource in dataset["resources"]}) == 70


@pytest.fixture(scope="module")
@starts("servers")
def fixture_pycsw() -> Iterator[PycswServer]:
    """pycsw with the six GeoNetwork records and the RPG record."""
    documents = [doc for name in (*GEONETWORK_PAGES, RPG)
                 for doc in split_iso_records(fixture_path(f"csw/{name}").read_bytes())]
    with PycswServer(documents) as server:
        yield server


@pytest.fixture(scope="module")
@starts("servers")
def synthetic_pycsw() -> Iterator[PycswServer]:
    with PycswServer(generate_iso_records(200)) as server:
        yield server


def test_pycsw_fixture_records(cli: Cli, fixture_pycsw: PycswServer) -> None:
    job = harvest(cli, fixture_pycsw.url, extra_configs=[{"key": "page_size", "value": 3}])
    assert job["status"] == "done", job["errors"]
    assert sorted(item["remote_id"] for item in job["items"]) == sorted([*GEONETWORK_IDENTIFIERS, "IGNF_RPG"])
    found = datasets(cli)
    assert len(found["IGNF_RPG"]["resources"]) == 70
    assert found["IGNF_RPG"]["frequency"] == "annual"
    assert found[CARTIGNY]["access_type"] == "restricted"


@pytest.mark.parametrize("page_size", [7, 50])
def test_pycsw_200_records_harvested_completely_once(cli: Cli, synthetic_pycsw: PycswServer, page_size: int) -> None:
    job = harvest(cli, synthetic_pycsw.url, extra_configs=[{"key": "page_size", "value": page_size}])
    assert job["status"] == "done", job["errors"]
    identifiers = [item["remote_id"] for item in job["items"]]
    assert len(identifiers) == 200
    assert set(identifiers) == {f"synthetic-{i:05d}" for i in range(200)}
    assert {item["status"] for item in job["items"]} == {"done"}
    sample = datasets(cli)["synthetic-00007"]
    assert sample["title"].startswith("Jeu synthétique 00007")
    assert sample["spatial"]["geom"]["type"] == "MultiPolygon"
    assert sample["temporal_coverage"]["start"].startswith("2015-01-22")


def test_pycsw_rejects_dcat_output_and_the_job_says_why(cli: Cli, fixture_pycsw: PycswServer) -> None:
    cli("source", "add", "dcat-on-pycsw", fixture_pycsw.url, "--backend", "csw-dcat")
    job = cli.json("run", "dcat-on-pycsw", expect=None)
    assert job["status"] == "failed"
    assert job["errors"][0]["message"] == (
        "Failed to query CSW: InvalidParameterValue (outputschema): "
        "Invalid outputSchema parameter value: http://www.w3.org/ns/dcat#")
