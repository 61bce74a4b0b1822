"""csw-iso-19139 on the real-world corpus: ISO 19115-2 and national profiles, service records, contacts, dates.

The mapping is tested on the corpus records alone (read from ../shared/corpus, no network); harvests go
through the CLI, against the records paged by a conforming CSW replay and against a real pycsw 2.6 loaded
with them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from backends.base import BackendContext, Record, SkipRecord
from backends.csw.iso19139 import CswIso19139Backend, map_metadata
from harvesters.http import Http, parse_xml
from harvesters.licenses import LICENSE_EXTRA, load_license_file
from harvesters.models import HarvestConfig, Mapped
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import CSW_PATH, get_records, paged_records, start_position
from tests.servers.pycsw_server import PycswServer, split_iso_records
from tests.shared import CORPUS, shared
from tests.tiers import starts

ISO = CORPUS / "csw-iso-19139"
APISO = sorted((ISO / "pycsw-apiso").glob("*.xml")) if (ISO / "pycsw-apiso").exists() else []
SERVICE_ID = "3e9a8c05"
SENTINEL = "S2B_MSIL2A_20200902T090559_N0214_R050_T34SFG_20200902T113910.SAFE"


def corpus_records(name: str) -> list[bytes]:
    """The ISO records of a corpus document (a record, or a GetRecords / GetRecordById answer)."""
    return split_iso_records(shared(ISO / name).read_bytes())


def mapped(name: str, index: int = 0) -> Mapped:
    return map_metadata(parse_xml(corpus_records(name)[index]), load_license_file())


def backend() -> CswIso19139Backend:
    return CswIso19139Backend("https://csw.example.org/csw", HarvestConfig(), BackendContext(Http()))


def record(name: str, position: int = 1) -> Record:
    """The record the gather makes of a corpus document's first ISO record."""
    return backend().record(position, parse_xml(corpus_records(name)[0]))


# --- ISO 19115-2 and national profiles ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "identifier"), [
    ("owslib-iso-mi.xml", "3f342f64-9348-11df-ba6a-0014c2c00eab"),
    ("datagov-valid-iso2.xml", "gov.noaa.nmfs.inport:47598"),
    ("geodatagov-nodc-cw-region.xml", "gov.noaa.class:CW_REGION"),
    ("owslib-geocat-che.xml", "3d2981af-d5db-4122-8db6-1ea41ed44b3f"),
])
def test_gmi_and_profile_roots_are_records_to_map_named_by_their_file_identifier(name: str, identifier: str) -> None:
    found = record(name)
    assert (found.remote_id, found.kind, found.skip_reason) == (identifier, "dataset", None)
    assert "error" not in found.data


def test_gmi_record_maps_like_md_metadata() -> None:
    result = mapped("owslib-iso-mi.xml")
    dataset = result.dataset
    assert dataset.title == "title in English"
    assert dataset.description == "abstract in English"
    assert dataset.frequency == "continuous"
    assert dataset.temporal_coverage.model_dump(mode="json") == {"start": "1950-07-31", "end": None}
    assert dataset.spatial.geom.coordinates == [[[[-141.0, 42.0], [-52.0, 42.0], [-52.0, 84.0], [-141.0, 84.0],
                                                  [-141.0, 42.0]]]]
    assert {"kw1", "kw2", "foo", "bar"} <= set(dataset.tags)
    assert (result.remote.created_at, result.remote.issued_at) == (
        datetime(2011, 11, 11, tzinfo=UTC), datetime(2000, 9, 1, tzinfo=UTC))


def test_geocat_profile_reads_its_subclassed_parties_and_identification() -> None:
    """che:CHE_MD_DataIdentification and che:CHE_CI_ResponsibleParty stand for their ISO classes."""
    dataset = mapped("owslib-geocat-che.xml").dataset
    assert dataset.title == "Gewässerschutzkarte"
    assert dataset.description.startswith("Die Gewässerschutzkarte mit den darin aufgeführten")
    assert [(c.name, c.email, c.role) for c in dataset.contact_points] == [
        ("Amt für Umweltschutz", "info.afu@zg.ch", "rightsHolder")]
    assert {"gewasserschutz", "grundwasser", "nutzungsplanung"} <= set(dataset.tags)
    assert dataset.spatial.geom.coordinates[0][0][0] == [8.396, 47.082]


def test_large_noaa_gmi_record_maps_with_its_contacts_and_resources() -> None:
    dataset = mapped("geodatagov-nodc-cw-region.xml").dataset
    assert dataset.title == "CoastWatch Regions in HDF Format"
    assert dataset.frequency == "continuous"
    assert ("CoastWatch Program, NESDIS, NOAA, U.S. Department of Commerce" in dataset.contact_points[1].name
            and dataset.contact_points[1].role == "publisher")
    assert len(dataset.resources) == 6
    # a GCMD-style hierarchy gives one tag per level, not one 96-character slug
    assert {"avhrr", "alaska-north", "caribbean-sea"} <= set(dataset.tags)
    assert all(len(tag) <= 96 for tag in dataset.tags)


def test_a_keyword_holding_a_list_gives_one_tag_per_item_but_a_label_with_commas_stays_whole() -> None:
    # "tag1    /tag1 > >    tag2,  tag3; > tag4>tag5;,TAG6"
    assert mapped("geodatagov-bad-tags.xml").dataset.tags == ["tag1-tag1", "tag2-tag3", "tag4", "tag5", "tag6"]
    # the INSPIRE theme "Gebiedsbeheer, gebieden waar beperkingen gelden, gereguleerde gebieden en ..."
    assert "gebiedsbeheer-gebieden-waar-beperkingen-gelden-gereguleerde-gebieden-en-rapportage-eenheden" in (
        mapped("owslib-iso-identifier.xml").dataset.tags)


def test_a_record_that_is_not_iso_fails_with_its_file_identifier_when_readable() -> None:
    document = corpus_records("owslib-iso-mi.xml")[0].replace(b"gmi:MI_Metadata", b"gmi:MI_Unknown")
    found = backend().record(4, parse_xml(document))
    assert found.remote_id == "3f342f64-9348-11df-ba6a-0014c2c00eab"
    assert found.error == "CSW record 4 is not ISO 19139 but {http://www.isotc211.org/2005/gmi}MI_Unknown"


def test_a_record_without_file_identifier_is_skipped_under_its_position() -> None:
    found = record("geodatagov-census-series.xml", position=7)
    assert (found.remote_id, found.skip_reason) == ("csw-record-7", "CSW record 7 has no fileIdentifier")


# --- service records ----------------------------------------------------------------------------------------


def test_service_records_are_data_services_with_their_endpoint_and_served_datasets() -> None:
    assert record("owslib-inspire-getrecords.xml").kind == "dataservice"
    view = mapped("owslib-inspire-getrecords.xml", 0)
    assert view.dataset is None
    service = view.dataservice
    assert service.title == "SUVIM station network WMS"
    assert service.base_api_url == "https://wms.ngi.be/inspire/aeronomie/service"  # the connect point
    assert service.machine_documentation_url == (
        "https://wms.ngi.be/inspire/aeronomie/service?request=GetCapabilities&service=WMS&version=1.3.0")
    assert service.datasets == ["59129f4b-a61b-467c-9b41-1f92e4338151"]  # srv:operatesOn
    assert service.extras["iso"]["access_constraints"][0].endswith("LimitationsOnPublicAccess/noLimitations")
    assert {"global-uv-index", "infomapaccessservice", "inspire"} <= set(service.tags)
    assert [(c.name, c.email, c.role) for c in service.contact_points] == [
        ("National Geographic Institute", "products@ngi.be", "custodian")]
    discovery = mapped("owslib-inspire-getrecords.xml", 1).dataservice
    assert discovery.base_api_url == "http://catalog.zamg.ac.at/geonetwork/srv/ger/csw-inspire"
    assert len(discovery.datasets) == 8


def test_service_record_without_connect_point_takes_its_online_resource() -> None:
    result = mapped("pycsw-apiso/3e9a8c05.xml")
    assert (result.dataservice.title, result.dataservice.base_api_url) == (
        "test Title", "http://aiolos.survey.ntua.gr/geoserver/wms")
    assert result.dataservice.datasets == []  # its srv:operatesOn has an empty href


def test_service_record_without_any_endpoint_is_skipped_with_a_reason() -> None:
    document = corpus_records("pycsw-apiso/3e9a8c05.xml")[0].replace(
        b"http://aiolos.survey.ntua.gr/geoserver/wms", b"")
    with pytest.raises(SkipRecord, match="service record without an endpoint"):
        map_metadata(parse_xml(document))


def test_dataset_record_with_a_service_identification_gets_its_connect_point_as_an_api() -> None:
    """THREDDS (ncISO) records describe their OPeNDAP endpoint in an srv:SV_ServiceIdentification."""
    assert record("pycsw-dup/AVHRR.2011.7Agg.xml").kind == "dataset"
    resources = mapped("pycsw-dup/AVHRR.2011.7Agg.xml").dataset.resources
    assert [(r.type, r.format, r.title, r.url) for r in resources] == [
        ("main", "html", "File Information", "http://tds.maracoos.org/thredds/dodsC/AVHRR/2011/7Agg.html"),
        ("api", "opendap", "OPeNDAP", "http://tds.maracoos.org/thredds/dodsC/AVHRR/2011/7Agg"),
    ]


# --- resources, contacts, dates, licenses -------------------------------------------------------------------


def test_an_untyped_data_file_is_the_distribution_of_a_record_that_types_none() -> None:
    resources = mapped("geodatagov-census-county.xml").dataset.resources
    assert [(r.title, r.url, r.format, r.type) for r in resources] == [
        ("tl_2013_us_county.zip", "http://www2.census.gov/geo/tiger/TIGER2013/COUNTY/tl_2013_us_county.zip",
         "zip", "main")]


def test_links_that_are_no_web_url_are_left_out_with_one_warning() -> None:
    result = mapped("pycsw-apiso/iso_19115-2_Sentinel-2-scene.xml")
    assert result.dataset.title == SENTINEL
    assert result.dataset.resources == []
    assert result.warnings == [
        "36 online resource(s) without an http(s) or ftp URL skipped, e.g. "
        f"'s3://eodata/Sentinel-2/MSI/L2A/2020/09/02/{SENTINEL}/'"]


def test_parties_with_a_name_only_are_kept_except_as_contact_and_links_are_no_parties() -> None:
    opentopography = mapped("geodatagov-sample4-getrecords.xml", 0).dataset.contact_points
    assert ("Colleen Murphy", None, None, "originator") in [
        (c.name, c.email, c.contact_form, c.role) for c in opentopography]
    # InPort lists related links as nameless cited parties: they are not contacts; the record's own
    # metadata contact stands in when the resource names no usable point of contact
    inport = mapped("datagov-valid-iso2.xml")
    assert [(c.name, c.email, c.role) for c in inport.dataset.contact_points] == [
        ("Office for Coastal Management", "test@gmail.com", "resourceProvider"),
        ("Cothran, Jeremy", "jeremy.cothran@gmail.com", "contact")]


def test_a_point_of_contact_with_a_name_only_is_left_out_with_a_warning() -> None:
    document = corpus_records("owslib-geobretagne.xml")[0].replace(b"bureau.gf3a@dgfip.finances.gouv.fr", b"")
    result = map_metadata(parse_xml(document))
    assert result.dataset.contact_points == []
    # the resource's point of contact, then the metadata's own contact tried in its place
    assert result.warnings == [
        f"Contact point '{name}' has neither an email nor a contact form: left out" for name in (
            "DIRECTION GENERALE DES FINANCES PUBLIQUES (DGFIP Bretagne)",
            "DIRECTION GENERALE DES FINANCES PUBLIQUES BUREAU GF-3A")]


def test_partial_and_compact_citation_dates_are_their_first_day() -> None:
    assert mapped("geodatagov-census-county.xml").remote.issued_at == datetime(2013, 1, 1, tzinfo=UTC)  # "2013"
    necta = mapped("geodatagov-census-necta-gmi.xml")
    assert necta.remote.issued_at == datetime(2015, 5, 1, tzinfo=UTC)  # "201505"
    assert necta.warnings == []
    wales = mapped("spatial-gemini-wales2.xml")
    assert (wales.remote.issued_at, wales.warnings) == (datetime(2009, 1, 1, tzinfo=UTC), [])  # "2009-00-00"


def test_an_unrecognised_license_text_is_kept_in_extras() -> None:
    dataset = mapped("geodatagov-sample3-getrecords.xml", 1).dataset
    assert dataset.license is None
    assert dataset.extras[LICENSE_EXTRA].startswith("Public Domain / USG (PD/USG): This project constitutes")
    # "None" says nothing: the first text that names something is kept
    forestry = mapped("spatial-gemini-fcs.xml").dataset
    assert forestry.extras["iso"]["use_constraints"] == ["None"]
    assert forestry.extras[LICENSE_EXTRA] == "Copyright  (Copyright Forestry Commission Scotland)"
    assert mapped("semic-fr-oceano-series.xml").dataset.license == "lov2"  # named in its use limitation
    assert LICENSE_EXTRA not in mapped("semic-fr-oceano-series.xml").dataset.extras


# --- harvests -----------------------------------------------------------------------------------------------


def harvest(cli: Cli, url: str, **extra: object) -> dict:
    config = {"extra_configs": [{"key": key, "value": value} for key, value in extra.items()]}
    cli("source", "add", "corpus", url, "--backend", "csw-iso-19139", "--config", json.dumps(config))
    return cli.json("run", "corpus", expect=None)


def apiso_documents() -> list[bytes]:
    if not APISO:
        pytest.skip(f"{ISO / 'pycsw-apiso'} is absent: third-party documents are read from ../shared")
    return [document for path in APISO for document in split_iso_records(path.read_bytes())]


def test_pycsw_apiso_records_paged_by_five_harvest_as_datasets_and_one_data_service(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    url = paged_records(catalog_server, apiso_documents())
    job = harvest(cli, url, page_size=5)
    assert job["status"] == "done", job["errors"]
    assert [start_position(request) for request in catalog_server.requests_to(CSW_PATH)] == [1, 6, 11, 16]
    assert {get_records(request).get("maxRecords") for request in catalog_server.requests_to(CSW_PATH)} == {"5"}
    assert Counter(item["status"] for item in job["items"]) == {"done": 18}
    services = cli.json("dataservices", "list")
    assert [(s["harvest"]["remote_id"], s["base_api_url"]) for s in services] == [
        (SERVICE_ID, "http://aiolos.survey.ntua.gr/geoserver/wms")]
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    assert len(datasets) == 17 and SERVICE_ID not in datasets
    sentinel = datasets[SENTINEL]
    assert sentinel["temporal_coverage"] == {"start": "2020-09-02", "end": "2020-09-02"}
    item = next(item for item in job["items"] if item["remote_id"] == SENTINEL)
    assert [log["message"] for log in item["logs"]][0].startswith("36 online resource(s) without an http(s)")


def test_gmi_and_geocat_records_harvest_and_a_failed_item_keeps_its_file_identifier(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    documents = [*corpus_records("owslib-iso-mi.xml"), *corpus_records("owslib-geocat-che.xml"),
                 *corpus_records("datagov-too-many-keywords.xml"),
                 corpus_records("datagov-valid-iso2.xml")[0].replace(b"MI_Metadata", b"MI_Unknown")]
    job = harvest(cli, paged_records(catalog_server, documents))
    assert job["status"] == "done-errors"
    items = {item["remote_id"]: item for item in job["items"]}
    assert {key: item["status"] for key, item in items.items()} == {
        "3f342f64-9348-11df-ba6a-0014c2c00eab": "done",
        "3d2981af-d5db-4122-8db6-1ea41ed44b3f": "done",
        "gov.noaa.psl.dataset.NOAACIRESDOE_20th_Century_Reanalysis_V3": "done",
        "gov.noaa.nmfs.inport:47598": "failed",
    }
    assert items["gov.noaa.nmfs.inport:47598"]["errors"][0]["message"] == (
        "CSW record 4 is not ISO 19139 but {http://www.isotc211.org/2005/gmi}MI_Unknown")
    swiss = next(d for d in cli.json("datasets", "list") if d["title"] == "Gewässerschutzkarte")
    assert swiss["contact_points"][0]["email"] == "info.afu@zg.ch"


@pytest.fixture(scope="module")
@starts("servers")
def corpus_pycsw() -> Iterator[PycswServer]:
    """pycsw loaded with the apiso records (datasets, ISO 19115-2 ones and a service) and geocat.ch's profile."""
    if not APISO:
        pytest.skip(f"{ISO / 'pycsw-apiso'} is absent: third-party documents are read from ../shared")
    documents = [*apiso_documents(), *split_iso_records((ISO / "owslib-geocat-che.xml").read_bytes())]
    with PycswServer(documents) as server:
        yield server


def test_real_pycsw_serves_gmi_profile_and_service_records_through_the_iso_request(
    cli: Cli, corpus_pycsw: PycswServer
) -> None:
    """The GetRecords we send (typeNames gmd:MD_Metadata, outputSchema gmd, dataset/series/service types)
    gets every record back from pycsw, ISO 19115-2 and geocat.ch ones included, as they were loaded."""
    job = harvest(cli, corpus_pycsw.url, page_size=4)
    assert job["status"] == "done", job["errors"]
    assert Counter(item["status"] for item in job["items"]) == {"done": 19}
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    assert {SENTINEL, "NS06agg", "3d2981af-d5db-4122-8db6-1ea41ed44b3f"} <= set(datasets)
    assert datasets["NS06agg"]["resources"][-1]["format"] == "opendap"
    assert [s["harvest"]["remote_id"] for s in cli.json("dataservices", "list")] == [SERVICE_ID]
