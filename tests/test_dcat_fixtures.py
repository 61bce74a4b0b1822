"""Every DCAT catalog of the reference harvester (../shared/fixtures/udata/dcat), harvested through the CLI
from the local fixture server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Cli
from tests.servers.catalog import CatalogServer

RDF_XML = "application/rdf+xml"
API = "https://data.paris2024.org/api/explore/v2.1/"  # the data service of bnodes.xml
JSON_LD = "application/ld+json"


def harvest(cli: Cli, server: CatalogServer, fixture: str, content_type: str = RDF_XML) -> tuple[dict, dict]:
    """Run the `dcat` backend on a served fixture: the job and the local catalog's datasets by remote id."""
    url = server.serve_fixture(f"/{fixture}", f"dcat/{fixture}", content_type)
    job = cli.json("run", url, "--backend", "dcat")
    datasets = {dataset["harvest"]["remote_id"]: dataset for dataset in cli.json("datasets", "list")}
    return job, datasets


def by_title(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {resource["title"]: resource for resource in resources}


def logs(item: dict[str, Any]) -> list[str]:
    return [log["message"] for log in item["logs"]]


def test_catalog_xml(cli: Cli, catalog_server: CatalogServer) -> None:
    base = catalog_server.url
    job, datasets = harvest(cli, catalog_server, "catalog.xml")
    assert job["status"] == "done"
    assert sorted(datasets) == ["1", "2", "3", "4"]

    first = datasets["1"]
    assert first["title"] == "Dataset 1"
    assert first["description"] == "# h1 title\n\n## h2 title\n\n**and bold text**"  # HTML dct:abstract
    assert first["tags"] == ["tag-1", "tag-2", "tag-3", "tag-4", "theme-1", "theme-2"]
    assert first["frequency"] == "unknown"  # an unknown freq: URI leaves it unset
    assert first["temporal_coverage"] == {"start": "2016-01-01", "end": "2016-12-05"}
    assert first["license"] == "fr-lo"  # "Licence Ouverte Version 1.0" on a distribution
    assert [(c["name"], c["email"], c["contact_form"], c["role"]) for c in first["contact_points"]] == [
        ("Organization contact", "hello@its.me", "https://data.support.com", "contact"),
        ("An Organization", None, None, "publisher"),  # a name is enough for a publisher (udata: only for contact)
    ]
    assert first["harvest"]["remote_url"] == f"{base}/datasets/1"
    assert first["harvest"]["uri"] == f"{base}/datasets/1"
    assert first["harvest"]["dct_identifier"] == "1"
    assert first["harvest"]["issued_at"].startswith("2016-12-14T18:59:02")
    assert first["harvest"]["modified_at"].startswith("2016-12-14T19:01:24")
    assert first["extras"]["dcat"]["provenance"] == ["Description de la provenance des données du dataset 1"]

    resources = by_title(first["resources"])
    assert len(first["resources"]) == 4
    json_file = resources["Resource 1-1"]
    assert (json_file["url"], json_file["format"], json_file["mime"], json_file["filesize"], json_file["type"]) == (
        f"{base}/datasets/1/resources/1/file.json", "json", "application/json", 12323, "main")
    assert json_file["description"] == "A JSON resource"
    assert json_file["harvest"]["issued_at"].startswith("2018-03-12")
    assert json_file["harvest"]["modified_at"].startswith("2018-03-14")
    assert json_file["extras"]["dcat"]["license"] == ["Licence Ouverte Version 1.0"]
    document = resources["Resource 1-3"]  # dct:hasPart
    assert (document["url"], document["type"], document["format"]) == (
        f"{base}/datasets/1/resources/3", "other", "json")
    service = resources["Resource 1-4"]  # has an access service
    assert (service["type"], service["format"]) == ("api", None)
    assert service["url"].endswith("/services?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0")

    second = datasets["2"]
    assert second["license"] == "lov2"  # from dct:rights
    assert second["extras"]["dcat"]["rights"] == ["Licence Ouverte Version 2.0"]
    assert by_title(second["resources"])["Resource 2-2"]["extras"]["dcat"]["rights"] == ["Rights on nested resource"]
    # dct:temporal points to a period described elsewhere in the document
    assert second["temporal_coverage"] == {"start": "2016-01-01", "end": "2016-12-05"}

    third = datasets["3"]
    assert third["frequency"] == "daily"
    assert third["harvest"]["created_at"].startswith("2016-12-12")
    assert {"hvd", "observation-de-la-terre-et-environnement"} <= set(third["tags"])
    # INSPIRE Article 13(1)(e): restricted, no license even though dct:license names one
    assert (third["access_type"], third["access_type_reason_category"]) == (
        "restricted", "intellectual_property_rights")
    assert third["license"] == "notspecified"
    assert third["extras"]["dcat"]["accessRights"] == [
        "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/INSPIRE_Directive_Article13_1e"
    ]

    fourth = datasets["4"]
    assert "accessRights" not in fourth["extras"]["dcat"]  # distributions disagree: not lifted to the dataset
    for resource in fourth["resources"]:
        assert "Access right 4" in resource["extras"]["dcat"]["accessRights"]
        assert len(resource["extras"]["dcat"]["accessRights"]) == 2


def test_bnodes_xml_datasets_spatial_themes_and_data_service(cli: Cli, catalog_server: CatalogServer) -> None:
    job, datasets = harvest(cli, catalog_server, "bnodes.xml")
    assert sorted(datasets) == ["1", "2", "3"]
    assert {name: len(d["resources"]) for name, d in datasets.items()} == {"1": 2, "2": 2, "3": 1}
    assert datasets["1"]["harvest"]["uri"] is None  # a blank node with a dct:identifier
    assert datasets["1"]["spatial"] is None  # wrong WKT
    assert datasets["3"]["spatial"] is None  # NaN in the GeoJSON
    polygons = datasets["2"]["spatial"]["geom"]["coordinates"]
    assert datasets["2"]["spatial"]["geom"]["type"] == "MultiPolygon"
    assert sorted(polygons) == sorted([
        [[[-6, 51], [10, 51], [10, 40], [-6, 40], [-6, 51]]],
        [[[4, 45], [4, 46], [4, 46], [4, 45], [4, 45]]],
        [[[159, -25], [159, -11], [212, -11], [212, -25], [159, -25]]],
    ])  # GeoJSON and WKT merged, duplicates dropped
    assert {"repartition-des-especes", "inspire"} <= set(datasets["1"]["tags"])  # GEMET INSPIRE scheme title
    assert {"hydrographie", "inspire"} <= set(datasets["2"]["tags"])  # scheme URI under inspire.ec.europa.eu/theme
    assert "inspire" not in datasets["3"]["tags"]
    assert datasets["3"]["license"] == "lov2"

    assert len(job["items"]) == 4  # the three datasets and the data service


def test_bnodes_xml_data_service_written_with_its_datasets_then_unchanged(
    cli: Cli, catalog_server: CatalogServer
) -> None:
    job, datasets = harvest(cli, catalog_server, "bnodes.xml")
    assert job["status"] == "done"
    (service,) = cli.json("dataservices", "list")
    assert service["title"] == "Explore API v2"
    assert service["base_api_url"] == API
    assert service["machine_documentation_url"] == f"{API}swagger.json"
    # dcat:servesDataset names dataset-2 and dataset-3 by URI: their dct:identifiers, then our ids
    assert service["datasets"] == [{"class": "Dataset", "id": datasets[remote]["id"]} for remote in ("2", "3")]
    assert (service["harvest"]["remote_id"], service["harvest"]["remote_url"]) == (API, f"{API}console")
    assert service["archived_at"] is None
    assert cli.json("dataservices", "show", service["id"]) == service

    item = next(item for item in job["items"] if item["remote_id"] == API)
    assert (item["status"], item["dataset"], logs(item)) == ("done", None, ["Data service created"])
    shown = next(item for item in cli.json("job", "show", job["id"])["items"] if item["remote_id"] == API)
    assert shown["dataservice"] == {"class": "Dataservice", "id": service["id"], "title": "Explore API v2",
                                    "self_api_url": None, "self_web_url": None}

    again, _ = harvest(cli, catalog_server, "bnodes.xml")
    assert {item["remote_id"]: logs(item)[-1] for item in again["items"]} == {
        "1": "Dataset unchanged", "2": "Dataset unchanged", "3": "Dataset unchanged", API: "Data service unchanged"}
    assert cli.json("dataservices", "list") == [service]


def test_data_service_left_out_datasets_archived_then_back(cli: Cli, catalog_server: CatalogServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A served dataset this source did not harvest is left out with a warning; a data service gone from
    the catalog is archived (not its datasets), and one that comes back is unarchived."""
    monkeypatch.setenv("HARVEST_AUTOARCHIVE_GRACE_DAYS", "0")
    turtle = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
        <http://data.test.org/d/1> a dcat:Dataset ; dct:identifier "1" ; dct:title "One" .
        <http://data.test.org/d/2> a dcat:Dataset ; dct:identifier "2" ; dct:title "Two" .
        <http://data.test.org/d/3> a dcat:Dataset ; dct:identifier "3" ; dct:title "Three" .
    """
    service = """<http://data.test.org/api> a dcat:DataService ; dct:title "API" ;
        dcat:endpointURL <http://data.test.org/api/v1> ;
        dcat:servesDataset <http://data.test.org/d/1>, <http://data.test.org/elsewhere> ."""
    url = catalog_server.serve("/catalog.ttl", turtle + service, "text/turtle")
    api = f"{catalog_server.url}/api"  # no dct:identifier: the node's URI
    job = cli.json("run", url, "--backend", "dcat")
    item = next(item for item in job["items"] if item["remote_id"] == api)
    assert logs(item) == [f"Served dataset '{catalog_server.url}/elsewhere' not harvested from this source: left out",
                          "Data service created"]
    (written,) = cli.json("dataservices", "list")
    one = next(d for d in cli.json("datasets", "list") if d["harvest"]["remote_id"] == "1")
    assert written["datasets"] == [{"class": "Dataset", "id": one["id"]}]

    catalog_server.serve("/catalog.ttl", turtle, "text/turtle")
    gone = cli.json("run", url, "--backend", "dcat")
    archived = next(item for item in gone["items"] if item["status"] == "archived")
    assert (archived["remote_id"], archived["dataservice"]["id"], logs(archived)) == (
        api, written["id"], ["Data service archived: no longer on the remote"])
    (after,) = cli.json("dataservices", "list")
    assert after["archived_at"] is not None and after["harvest"]["archived"] == "not-on-remote"
    assert all(dataset["archived"] is None for dataset in cli.json("datasets", "list"))

    catalog_server.serve("/catalog.ttl", turtle + service, "text/turtle")
    back = cli.json("run", url, "--backend", "dcat")
    item = next(item for item in back["items"] if item["remote_id"] == api)
    assert logs(item)[-2:] == ["Data service is back on the remote: unarchived", "Data service updated"]
    (restored,) = cli.json("dataservices", "list")
    assert (restored["id"], restored["archived_at"]) == (written["id"], None)


def test_geonetwork_xml_with_invalid_iri_and_labelled_resources(cli: Cli, catalog_server: CatalogServer) -> None:
    job, datasets = harvest(cli, catalog_server, "geonetwork.xml")
    identifier = ("0c456d2d-9548-4a2a-94ef-231d9d890ce2 "
                  "https://sig.oreme.org/geonetwork/srv/resources0c456d2d-9548-4a2a-94ef-231d9d890ce2")
    dataset = datasets[identifier]
    assert dataset["harvest"]["dct_identifier"] == identifier
    assert dataset["harvest"]["uri"].startswith("https://sig.oreme.org/geonetwork/srv/resources/datasets/0c45")
    assert dataset["harvest"]["remote_url"] is None  # the node URI has a space: not a URL
    assert dataset["harvest"]["issued_at"].startswith("2004-11-03")
    assert dataset["harvest"]["created_at"] is None and dataset["harvest"]["modified_at"] is None
    assert dataset["description"].startswith("Data of type chemistry")
    assert dataset["temporal_coverage"] == {"start": "2004-11-03", "end": "2005-03-30"}
    assert dataset["frequency"] == "continuous"  # ISO "continual"
    # rdf:resource with a text: the text is kept as the theme's label
    assert {"inspire", "biodiversity-dynamics", "environmental-monitoring-facilities", "pollution"} <= set(
        dataset["tags"])
    assert dataset["spatial"]["geom"]["coordinates"][0][0][0] == [3.98197778, 44.05310833]  # WKT with a CRS prefix
    assert dataset["license"] == "notspecified"
    assert dataset["resources"] == []
    item = job["items"][0]
    assert sum("skipped: it has no URL" in message for message in logs(item)) == 4  # undescribed distributions


def test_sig_oreme(cli: Cli, catalog_server: CatalogServer) -> None:
    _, datasets = harvest(cli, catalog_server, "sig.oreme.rdf")
    dataset = datasets["0437a976-cff1-4fa6-807a-c23006df2f8f"]
    assert dataset["frequency"] == "irregular"
    assert {"gravi", "geodesy"} <= set(dataset["tags"])
    assert dataset["license"] == "fr-lo"
    assert [(r["title"], r["url"], r["format"]) for r in dataset["resources"]] == [
        ("See website", "https://oreme.org/observation/gravi", "www:link-1.0-http--link")]
    url = "https://sig.oreme.org/geonetwork/srv/eng/catalog.search#/metadata//datasets/0437a976-cff1-4fa6-807a-c23006df2f8f"
    assert dataset["harvest"]["uri"] == dataset["harvest"]["remote_url"] == url


def test_datara_foaf_roles(cli: Cli, catalog_server: CatalogServer) -> None:
    _, datasets = harvest(cli, catalog_server, "datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml")
    (dataset,) = datasets.values()
    dreal = ("Direction Régionale de l’Environnement de l’Aménagement et du Logement d'Auvergne-Rhône-Alpes "
             "(DREAL Auvergne-Rhône-Alpes)")
    assert [(c["name"], c["email"], c["role"]) for c in dataset["contact_points"]] == [
        ("IGN", "sav.bd@ign.fr", "rightsHolder"),
        (f"Administrateur de Données ({dreal})", "sig.dreal-ara@developpement-durable.gouv.fr", "user"),
    ]  # the catalog record's own geodcat:user is not the dataset's
    assert dataset["spatial"]["geom"]["coordinates"] == [[[
        [2.06287814767608, 46.8042870493687], [7.18556459920588, 46.8042870493687],
        [7.18556459920588, 44.1154926129761], [2.06287814767608, 44.1154926129761],
        [2.06287814767608, 46.8042870493687]]]]  # the same box in 4 encodings, kept once
    assert dataset["resources"][0]["extras"]["dcat"]["license"] == ["Ayant droit IGN Bénéficiaires du RGE"]
    assert dataset["license"] == "notspecified"
    assert dataset["harvest"]["issued_at"] is None  # an empty literal


def test_datara_vcard_roles(cli: Cli, catalog_server: CatalogServer) -> None:
    _, datasets = harvest(cli, catalog_server, "datara--f40c3860-7236-4b30-a141-23b8ae33f7b2.rdf.xml")
    (dataset,) = datasets.values()
    assert [(c["name"], c["email"], c["role"]) for c in dataset["contact_points"]] == [
        ("Administrateur de Données (Direction Régionale de l’Environnement de l’Aménagement et du Logement "
         "d'Auvergne-Rhône-Alpes (DREAL Auvergne-Rhône-Alpes))", "sig.dreal-ara@developpement-durable.gouv.fr",
         "contact"),
        ("Jean-Michel GENIS (Conservatoire Botanique National Alpin)", "jm.genis@cbn-alpin.fr", "rightsHolder"),
        ("Conservatoire Botanique National Massif Central", "Benoit.Renaux@cbnmc.fr", "rightsHolder"),
    ]


def test_series_is_harvested_once_with_service_formats(cli: Cli, catalog_server: CatalogServer) -> None:
    job, datasets = harvest(cli, catalog_server, "series.xml")
    assert len(job["items"]) == 1
    dataset = datasets["FR-33071536800297-ATLAS_DCE_ARTOIS_PICARDIE_ETATGLOBAL"]
    assert dataset["frequency"] == "punctual"  # EU AS_NEEDED
    assert dataset["temporal_coverage"] == {"start": "2008-01-01", "end": "2014-01-30"}
    assert [(r["url"], r["type"], r["format"]) for r in dataset["resources"]] == [
        ("https://sextant.ifremer.fr/services/wms/dce_ap", "api", "wms"),
        ("https://sextant.ifremer.fr/services/wfs/dce_ap", "api", "wfs"),
    ]
    assert [(c["name"], c["email"]) for c in dataset["contact_points"]] == [
        ("Cordier (Ifremer)", "remy.cordier@ifremer.fr")]
    assert dataset["extras"]["dcat"]["provenance"][0].startswith("évaluation à partir des indicateurs")
    assert "environnement" in dataset["tags"]


def test_udata_xml(cli: Cli, catalog_server: CatalogServer) -> None:
    job, datasets = harvest(cli, catalog_server, "udata.xml")
    assert len(job["items"]) == 3  # two datasets and the data service
    url = "https://vanves-seineouest.opendatasoft.com/explore/dataset/bureau-de-vote-vanves/"
    dataset = datasets[url]
    assert dataset["title"] == "Bureaux de vote - Vanves"
    assert dataset["description"] == "La liste des 23 bureaux de vote à Vanves"
    assert "bureaux-de-vote" in dataset["tags"]
    assert len(dataset["resources"]) == 4
    assert dataset["harvest"]["dct_identifier"] == dataset["harvest"]["uri"] == dataset["harvest"]["remote_url"] == url
    assert dataset["harvest"]["issued_at"].startswith("2019-04-19T12:21:56")
    assert dataset["license"] == "notspecified"  # "License Not Specified" on the distributions
    csv = dataset["resources"][0]
    assert (csv["format"], csv["mime"], csv["title"]) == ("csv", "text/csv", "bureau-de-vote-vanves.csv")
    assert csv["url"].endswith("/exports/csv?use_labels=true")  # downloadURL before accessURL
    item = next(item for item in job["items"] if item["remote_id"].endswith("/api/explore/v2.1/"))
    assert logs(item) == ["Data service created"]
    (service,) = cli.json("dataservices", "list")
    assert sorted(ref["id"] for ref in service["datasets"]) == sorted(d["id"] for d in datasets.values())


@pytest.mark.parametrize("fixture", ["flat.jsonld", "bnodes.jsonld"])
def test_flat_jsonld(cli: Cli, catalog_server: CatalogServer, fixture: str) -> None:
    _, datasets = harvest(cli, catalog_server, fixture, JSON_LD)
    assert {name: len(d["resources"]) for name, d in datasets.items()} == {"1": 2, "2": 2, "3": 1}
    assert {name: d["title"] for name, d in datasets.items()} == {"1": "Dataset 1", "2": "Dataset 2", "3": "Dataset 3"}
    assert datasets["1"]["tags"] == ["tag-1", "tag-2", "tag-3", "tag-4", "theme-1", "theme-2"]
    assert datasets["3"]["tags"] == ["tag-1", "tag-2"]
    assert datasets["2"]["description"] == "Dataset 2 description"


def test_bnodes_jsonld_resources(cli: Cli, catalog_server: CatalogServer) -> None:
    _, datasets = harvest(cli, catalog_server, "bnodes.jsonld", JSON_LD)
    first = by_title(datasets["1"]["resources"])["Resource 1-1"]
    assert (first["description"], first["format"], first["mime"], first["type"]) == (
        "A JSON resource", "json", "application/json", "main")
    assert datasets["1"]["harvest"]["remote_url"] is None  # blank nodes, no landing page


def test_nested_jsonld_checksum_and_temporal(cli: Cli, catalog_server: CatalogServer) -> None:
    _, datasets = harvest(cli, catalog_server, "nested.jsonld", JSON_LD)
    dataset = datasets["1"]
    assert dataset["temporal_coverage"] == {"start": "2016-01-01", "end": "2016-12-05"}
    assert dataset["harvest"]["remote_url"] == f"{catalog_server.url}/datasets/1"
    (resource,) = dataset["resources"]
    assert resource["checksum"] == {"type": "sha1", "value": "fb4106aa286a53be44ec99515f0f0421d4d7ad7d"}


def test_evian_dcat_us_context_is_bundled_not_fetched(cli: Cli, catalog_server: CatalogServer) -> None:
    job, datasets = harvest(cli, catalog_server, "evian.json", "application/json")
    assert job["status"] == "done"
    assert len(datasets) == 8
    assert [request.path for request in catalog_server.requests] == ["/evian.json"]
    dataset = datasets["https://www.arcgis.com/home/item.html?id=f6565516d1354383b25793e630cf3f2b&sublayer=5"]
    assert dataset["spatial"]["geom"] == {"type": "MultiPolygon", "coordinates": [[[
        [6.5735, 46.3912], [6.6069, 46.3912], [6.6069, 46.4028], [6.5735, 46.4028], [6.5735, 46.3912]]]]}
    assert dataset["license"] == "lov2"  # the Etalab URL inside an HTML license text
    assert dataset["description"] == "Emplacement et description des stationnement vélos à Evian-les-Bains"
    assert dataset["harvest"]["remote_url"].endswith("/maps/f6565516d1354383b25793e630cf3f2b_5")
    assert ("CSV", "csv", "text/csv") in [(r["title"], r["format"], r["mime"]) for r in dataset["resources"]]
