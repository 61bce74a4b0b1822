"""License guessing against a portal's license list, the bundled snapshot and HARVEST_LICENSES_FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvesters.licenses import LicenseIndex, edit_distance, license_extras, load_license_file, url_key
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer

BUNDLED = load_license_file()


@pytest.mark.parametrize(("value", "expected"), [
    ("lov2", "lov2"),  # id
    ("ODC-ODBL", "odc-odbl"),  # id, any case
    ("http://opendatacommons.org/licenses/odbl/summary/", "odc-odbl"),  # URL
    ("https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf", "lov2"),  # alternate URL
    ("http://etalab.gouv.fr/licence-ouverte-open-licence/", "lov2"),  # scheme, www and trailing slash ignored
    ("https://opendatacommons.org/licenses/pddl/summary", "odc-pddl"),
    ("Licence Ouverte / Open Licence version 2.0", "lov2"),  # title
    ("licence ouverte v2.0", "lov2"),  # alternate title, case
    ("Licence Ouverte Version 2.0", "lov2"),  # alternate title, normalised
    ("Creative Commons Attribution Share Alike", "cc-by-sa"),  # punctuation
    ("Licence Ouverte v2.O", "lov2"),  # near-equal: one typo
    ("Licence Ouverte Version 1.0", "fr-lo"),  # not lov2: version numbers must match
    ("License Not Specified", "notspecified"),
    ("Soumis à la licence Etalab : https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "lov2"),  # URL in text
    ("https://creativecommons.org/licenses/by/4.0/deed.fr", "cc-by"),  # well-known alias
    ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "cc-by"),
    ("CC0-1.0", "cc-zero"),
    ("copyright", None),
    ("https://www.etalab.gouv.fr/", None),  # the parent of several licenses
    ("", None),
])
def test_guess_against_the_bundled_data_gouv_list(value: str, expected: str | None) -> None:
    assert BUNDLED.guess(value) == expected


def test_surer_matches_win_whatever_the_order_of_the_values() -> None:
    assert BUNDLED.guess("Licence Ouverte v2.O", "https://opendatacommons.org/licenses/odbl/summary/") == "odc-odbl"
    assert BUNDLED.guess(None, "nothing", "odc-by") == "odc-by"


def test_ambiguous_titles_guess_nothing() -> None:
    index = LicenseIndex([{"id": "a", "title": "Data License 1"}, {"id": "b", "title": "Data License 1"}])
    assert index.guess("Data License 1") is None


def test_an_alias_names_a_license_only_when_the_portal_has_it() -> None:
    index = LicenseIndex([{"id": "lov2", "title": "Licence Ouverte / Open Licence version 2.0",
                           "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}])
    assert index.guess("https://creativecommons.org/licenses/by/4.0/") is None
    assert "lov2" in index and "cc-by" not in index


def test_edit_distance_and_url_key() -> None:
    distances = [edit_distance("licence", value) for value in ("licence", "lciense", "licences", "license-x")]
    assert distances == [0, 2, 1, 3]
    assert url_key("HTTPS://www.Example.org/Path/") == url_key("http://example.org/path") == "example.org/path"
    assert url_key("urn:isbn:1") is None


def test_the_bundled_snapshot_has_the_api_shape() -> None:
    assert {"lov2", "fr-lo", "odc-odbl", "odc-by", "odc-pddl", "cc-by", "cc-by-sa", "cc-zero", "notspecified",
            "other-at", "other-open", "other-pd"} <= set(BUNDLED.ids)
    for license in BUNDLED.licenses:
        assert set(license) == {"id", "title", "url", "alternate_urls", "alternate_titles", "flags", "maintainer"}


def write_licenses(path: Path, licenses: list[dict]) -> str:
    path.write_text(json.dumps(licenses), encoding="utf-8")
    return str(path)


def test_a_broken_licenses_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be a JSON list of objects with an 'id'"):
        load_license_file(write_licenses(tmp_path / "bad.json", [{"title": "no id"}]))
    with pytest.raises(ValueError, match="Unable to read the licenses file"):
        load_license_file(str(tmp_path / "missing.json"))


def test_harvest_licenses_file_replaces_the_bundled_list(
    cli: Cli, catalog_server: CatalogServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_licenses(tmp_path / "licenses.json", [
        {"id": "lov1", "title": "Licence Ouverte Version 1.0", "url": None, "alternate_urls": [],
         "alternate_titles": [], "flags": []},
    ])
    monkeypatch.setenv("HARVEST_LICENSES_FILE", path)
    url = catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    cli.json("run", url, "--backend", "dcat")
    licenses = {d["harvest"]["remote_id"]: d["license"] for d in cli.json("datasets", "list")}
    assert licenses == {"1": "lov1", "2": "notspecified", "3": "notspecified", "4": "notspecified"}


class CountingCatalog(LocalCatalog):
    """The local catalog, counting how often its license list is asked for."""

    calls = 0

    def licenses(self) -> LicenseIndex:
        self.calls += 1
        return super().licenses()


def test_the_portal_license_list_is_fetched_once_per_harvester(store: Store, catalog_server: CatalogServer) -> None:
    url = catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    source = register_source(store, name="catalog", url=url, backend="dcat")
    target = CountingCatalog(store)
    harvester = Harvester(store, target=target)
    harvester.run(source)
    job = harvester.run(source)
    assert target.calls == 1
    assert job.status == "done"


def test_the_portal_s_own_names_win_over_the_built_in_aliases() -> None:
    index = LicenseIndex([
        {"id": "fr-lo", "title": "Licence Ouverte / Open Licence"},
        {"id": "lov1", "title": "Licence Ouverte Version 1.0", "url": "https://portal.example/licences/lo-1"},
        {"id": "cc-zero", "title": "CC0", "url": "https://portal.example/licences/cc0"},
    ])
    assert index.guess("Licence Ouverte Version 1.0") == "lov1"  # also an alias of fr-lo: the portal's title wins
    assert index.guess("Licence Ouverte v1.0") == "fr-lo"  # the alias still names fr-lo where the portal is silent
    assert index.guess("https://portal.example/licences/lo-1") == "lov1"


@pytest.mark.parametrize(("value", "expected"), [
    ("http://dcat-ap.de/def/licenses/cc-zero", "cc-zero"),
    ("http://dcat-ap.de/def/licenses/cc-by", "cc-by"),
    ("http://dcat-ap.de/def/licenses/cc-by/4.0", "cc-by"),
    ("http://dcat-ap.de/def/licenses/cc-by-sa/4.0", "cc-by-sa"),
    ("http://dcat-ap.de/def/licenses/odbl", "odc-odbl"),
    ("http://dcat-ap.de/def/licenses/cc-by-nd", None),  # not on the portal: never another license
    ("http://dcat-ap.de/def/licenses/dl-by-de/2.0", None),
])
def test_dcat_ap_de_license_uris(value: str, expected: str | None) -> None:
    assert BUNDLED.guess(value) == expected


def test_an_unrecognised_license_text_is_kept_in_extras() -> None:
    assert license_extras(None, None, " Aviso legal ", "other") == {"harvest:license": "Aviso legal"}
    assert license_extras("cc-by", "CC-BY") == {}
    assert license_extras(None, "", None) == {}


@pytest.mark.parametrize(("value", "expected"), [
    ("http://creativecommons.org/licenses/by/3.0/igo/legalcode", None),  # HDX cc-by-igo: CC BY 3.0 IGO
    ("https://creativecommons.org/licenses/by/3.0/it/", None),
    ("http://creativecommons.org/licenses/by-sa/3.0/", None),
    ("http://dcat-ap.de/def/licenses/cc-by/3.0", None),
    ("cc-by-igo", None),
    ("Creative Commons Attribution for Intergovernmental Organisations", None),
    ("CC BY 3.0", None),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "cc-by"),  # a page below version 4.0
    ("http://creativecommons.org/licenses/by/", "cc-by"),  # no version named
    ("https://creativecommons.org/licenses/by-sa/4.0/deed.de", "cc-by-sa"),
    ("http://creativecommons.org/publicdomain/zero/1.0/", "cc-zero"),
    ("CC-By 4.0", "cc-by"),
    ("https://opendatacommons.org/licenses/odbl/1-0/", "odc-odbl"),  # ODC licenses have only version 1.0
    ("http://opendatacommons.org/licenses/by/1.0/", "odc-by"),
])
def test_license_versions_are_kept_apart(value: str, expected: str | None) -> None:
    assert BUNDLED.guess(value) == expected


def test_a_portal_url_below_which_another_version_is_named_is_not_that_license() -> None:
    index = LicenseIndex([{"id": "dl-de-by", "title": "Datenlizenz Deutschland Namensnennung",
                           "url": "https://www.govdata.de/dl-de/by"}])
    assert index.guess("https://www.govdata.de/dl-de/by/summary") == "dl-de-by"
    assert index.guess("https://www.govdata.de/dl-de/by-2-0") is None
    assert index.guess("https://www.govdata.de/dl-de/by/1-0") is None
