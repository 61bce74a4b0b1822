"""The shared value helpers of backends/normalize.py used by the DCAT mapping (and the other backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backends.normalize import (
    FREQUENCIES,
    bbox_to_polygon,
    checksum_algorithm,
    clean_email,
    frequency_id,
    geometry_from_geojson,
    geometry_from_wkt,
    is_http_url,
    merge_polygons,
    normalize_checksum,
    normalize_tags,
    parse_date_bound,
    parse_datetime,
    past_datetime,
    temporal_from_literal,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("http://purl.org/cld/freq/daily", "daily"),
    ("http://purl.org/cld/freq/threeTimesAWeek", "threeTimesAWeek"),
    ("https://publications.europa.eu/resource/authority/frequency/DAILY_2", "semidaily"),
    ("http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT", "continuous"),
    ("http://publications.europa.eu/resource/authority/frequency/CONT", "severalTimesADay"),
    ("http://publications.europa.eu/resource/authority/frequency/1MIN", "oneMinute"),
    ("http://publications.europa.eu/resource/authority/frequency/AS_NEEDED", "punctual"),
    ("http://publications.europa.eu/resource/authority/frequency/NOT_PLANNED", "notPlanned"),
    (" Quarterly ", "quarterly"),
    ("notPlanned", "notPlanned"),
    ("asNeeded", "punctual"),  # ISO 19115
    ("fortnightly", "biweekly"),
    ("every now and then", None),
    (None, None),
])
def test_frequency_id(value: str | None, expected: str | None) -> None:
    assert frequency_id(value) == expected
    assert expected is None or expected in FREQUENCIES


def test_date_bounds_and_literals() -> None:
    assert parse_date_bound("2020-02", end=True) == datetime(2020, 2, 29, tzinfo=UTC)
    assert parse_date_bound("2020-13") is None
    assert parse_date_bound("..") is None
    coverage = temporal_from_literal("2004-11-03T00:00:00+01:00\n  /\n  2005-03-30")
    assert coverage is not None and coverage.start.isoformat() == "2004-11-03T00:00:00+01:00"
    assert temporal_from_literal("2010-05-06") is not None
    assert temporal_from_literal("a/b/c") is None


@pytest.mark.parametrize(("text", "kind"), [
    ("POLYGON((0 0, 1 0, 1 1, 0 0))", "Polygon"),
    ("polygon ((0 0,1 0,1 1,0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1))", "Polygon"),
    ("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> Polygon((0 0, 1 0, 1 1, 0 0))", "Polygon"),
    ("SRID=4326;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))", "MultiPolygon"),
    ("POLYGON Z((0 0 1, 1 0 1, 1 1 1, 0 0 1))", "Polygon"),
])
def test_wkt_polygons(text: str, kind: str) -> None:
    geometry = geometry_from_wkt(text)
    assert geometry is not None and geometry["type"] == kind


@pytest.mark.parametrize("text", ["POINT(1 2)", "POLYGON((0 0, 1 0)", "POLYGON((0 0, 1 x))", "wrong wkt", "", None])
def test_wkt_that_is_not_a_polygon(text: str | None) -> None:
    assert geometry_from_wkt(text) is None


def test_geojson_and_bbox() -> None:
    feature = '{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}'
    assert geometry_from_geojson(feature)["type"] == "Polygon"  # type: ignore[index]
    assert geometry_from_geojson("{not json") is None
    assert bbox_to_polygon("1, 2, 3, 4") == {"type": "Polygon",
                                              "coordinates": [[[1, 2], [3, 2], [3, 4], [1, 4], [1, 2]]]}
    assert bbox_to_polygon("1,2,3") is None and bbox_to_polygon("a,b,c,d") is None


def test_merge_polygons_dedupes_and_rejects_invalid() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    same = {"type": "MultiPolygon", "coordinates": [[[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]]}
    point = {"type": "Point", "coordinates": [1, 2]}
    merged = merge_polygons([square, same, point, None])
    assert merged is not None and merged.geom.coordinates == [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]
    assert merge_polygons([point]) is None
    infinite = {"type": "Polygon", "coordinates": [[[0, 0], [1, float("inf")], [0, 0], [0, 0]]]}
    assert merge_polygons([square, infinite]) is None
    assert merge_polygons([{"type": "Polygon", "coordinates": "oops"}]) is None


@pytest.mark.parametrize(("algorithm", "value", "expected"), [
    ("http://spdx.org/rdf/terms#checksumAlgorithm_sha1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
     ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")),
    ("SHA-256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
    ("md5", " d41d8cd98f00b204e9800998ecf8427e ", ("md5", "d41d8cd98f00b204e9800998ecf8427e")),
    ("md5", "not-hex-not-hex-not-hex-not-hex!", None),
    ("sha1", "abc", None),  # wrong length
    ("crc32", "abcd", None),
    (None, "d41d8cd98f00b204e9800998ecf8427e", None),
])
def test_checksums(algorithm: str | None, value: str, expected: tuple[str, str] | None) -> None:
    checksum = normalize_checksum(algorithm, value)
    assert (checksum.type, checksum.value) == expected if checksum else expected is None


def test_checksum_algorithm_names() -> None:
    names = ("SHA1", "spdx:checksumAlgorithm_md5", "sha-512")
    assert [checksum_algorithm(name) for name in names] == ["sha1", "md5", None]


def test_past_datetime_email_and_urls() -> None:
    assert past_datetime("2020-01-01") == (datetime(2020, 1, 1, tzinfo=UTC), None)
    assert past_datetime("3020-01-01", "issue date") == (None, "Future issue date '3020-01-01' ignored")
    assert past_datetime("yesterday") == (None, "Unparseable date 'yesterday' ignored")
    assert past_datetime("  ") == (None, None)
    assert clean_email("mailto: someone@example.org ") == "someone@example.org"
    assert clean_email("not an email") is None
    assert is_http_url("https://example.org/a?b=c") and not is_http_url("https://example.org/a b")
    assert not is_http_url("ftp://example.org") and not is_http_url("urn:x")


@pytest.mark.parametrize(("value", "expected"), [
    ("R/P1D", "daily"), ("R/P1W", "weekly"), ("R/P1M", "monthly"), ("R/P1Y", "annual"), ("R/PT1H", "hourly"),
    ("R/P3M", "quarterly"), ("R/P6M", "semiannual"), ("R/P2W", "biweekly"), ("r/p10y", "decennial"),
    ("R5/P1D", "daily"), ("R/P17D", None), ("P1D", None),
])
def test_iso_8601_repeating_intervals_give_the_frequency(value: str, expected: str | None) -> None:
    assert frequency_id(value) == expected


def test_partial_dates_are_the_first_day_of_their_period_never_today() -> None:
    assert parse_datetime("2013") == datetime(2013, 1, 1, tzinfo=UTC)
    assert parse_datetime("2004-02") == datetime(2004, 2, 1, tzinfo=UTC)
    assert parse_datetime("2004-13") is None
    assert past_datetime("2013", "modification date") == (datetime(2013, 1, 1, tzinfo=UTC), None)
    assert parse_date_bound("2004-02", end=True) == datetime(2004, 2, 29, tzinfo=UTC)
    assert parse_datetime("2024-04-15T09:08:02+02:00").utcoffset().total_seconds() == 7200  # type: ignore[union-attr]


@pytest.mark.parametrize(("value", "expected"), [
    ("name(at)host.tld", "name@host.tld"),
    ("name [at] host.tld", "name@host.tld"),
    ("vorname.name{at}stadt[dot]de", "vorname.name@stadt.de"),
    ("Jane.Doe (AT) agency (dot) gov", "Jane.Doe@agency.gov"),
    ("mailto:info@example.org?subject=Data", "info@example.org"),
    ("contact@", None),
    ("name at host", None),  # no domain left to read: kept without an address
])
def test_obfuscated_emails_are_put_back(value: str, expected: str | None) -> None:
    assert clean_email(value) == expected


def test_checksum_algorithm_uris_of_dcat_ap_de() -> None:
    assert checksum_algorithm("http://dcat-ap.de/def/hashAlgorithms/sha/256") == "sha256"
    assert checksum_algorithm("http://dcat-ap.de/def/hashAlgorithms/sha/1") == "sha1"
    assert checksum_algorithm("http://dcat-ap.de/def/hashAlgorithms/md/5") == "md5"


@pytest.mark.parametrize(("value", "expected"), [
    ("document d'urbanisme", "document-durbanisme"),
    ("de l'espace", "de-lespace"),
    ("l’aménagement", "lamenagement"),
    ("Ökonomie", "okonomie"),
])
def test_tags_drop_apostrophes_as_udata_does(value: str, expected: str) -> None:
    assert normalize_tags([value]) == [expected]


def test_a_merged_spatial_coverage_has_udata_s_default_granularity() -> None:
    merged = merge_polygons([{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}])
    assert merged is not None and merged.granularity == "other"
