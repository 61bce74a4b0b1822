"""Pure mapping of one CKAN (or DKAN) package, as package_search / package_show return it, to a udata dataset."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from backends.base import (
    Checksum,
    ContactPoint,
    Dataset,
    LicenseIndex,
    Mapped,
    RemoteMetadata,
    Resource,
    ResourceHarvest,
    SkipRecord,
    Spatial,
    TemporalCoverage,
    license_extras,
)
from backends.normalize import (
    CHECKSUM_LENGTHS,
    file_extension,
    frequency_id,
    geometry_from_geojson,
    html_to_markdown,
    is_http_url,
    make_contact,
    merge_polygons,
    normalize_checksum,
    normalize_tags,
    parse_datetime,
    temporal_coverage,
    temporal_from_literal,
    text,
    url_filename,
)

ResourceType = Literal["main", "documentation", "update", "api", "code", "other"]
#: Package fields naming a contact point (name, email) and its udata role, as ckanext-dcat maps them.
PACKAGE_CONTACTS = (("maintainer", "maintainer_email", "contact"), ("author", "author_email", "creator"))
#: Extras naming one: ckanext-dcat's contact_* and publisher_* extras, data.gov's bare `publisher`.
EXTRA_CONTACTS: tuple[tuple[str, str | None, str], ...] = (
    ("contact_name", "contact_email", "contact"), ("publisher_name", "publisher_email", "publisher"),
    ("publisher", None, "publisher"),
)
CONTACT_EXTRAS = frozenset(key for name, email, _ in EXTRA_CONTACTS for key in (name, email) if key)
#: Extras mapped to dataset fields, or kept under a `ckan:` key.
MAPPED_EXTRAS = frozenset({"spatial", "frequency", "temporal_start", "temporal_end", "temporal", *CONTACT_EXTRAS})
PREFIXED_EXTRAS = ("spatial-text", "spatial-uri")
#: A maintainer given as a user id (HDX) names nobody.
USER_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
#: HDX's `data_update_frequency` (days, or HDX's codes for "as needed", "never", "live") as udata frequencies.
HDX_FREQUENCIES = {"-2": "punctual", "-1": "never", "0": "continuous", "1": "daily", "7": "weekly",
                   "14": "biweekly", "30": "monthly", "90": "quarterly", "180": "semiannual", "365": "annual"}
#: HDX's `dataset_date`: a Solr range `[start TO end]`, or the older `MM/DD/YYYY-MM/DD/YYYY`.
HDX_SOLR_RANGE = re.compile(r"\[\s*(\S+)\s+TO\s+(\S+)\s*\]")
HDX_US_DATES = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*-\s*(\d{1,2})/(\d{1,2})/(\d{4}))?")
RESOURCE_TYPES: dict[str, ResourceType] = {"api": "api", "documentation": "documentation", "code": "code"}
INACTIVE_STATES = frozenset({"deleted", "draft"})


def package_id(package: dict[str, Any]) -> str:
    return str(package.get("id") or package.get("name") or "").strip()


def dataset_page(base_url: str, package: dict[str, Any]) -> str:
    return f"{base_url}/dataset/{package.get('name') or package_id(package)}"


def remote_url(base_url: str, package: dict[str, Any]) -> str:
    """The package's own `url` when it is a valid URL, else its page on the portal."""
    url = package.get("url")
    return url.strip() if isinstance(url, str) and is_http_url(url) else dataset_page(base_url, package)


def map_package(
    package: dict[str, Any], base_url: str, licenses: LicenseIndex | None = None, honor_private: bool = True
) -> Mapped:
    """Map one package. `honor_private=False` ignores the `private` flag (DKAN sets it on public datasets)."""
    name = package.get("name") or package_id(package)
    if str(package.get("state") or "").lower() in INACTIVE_STATES:
        raise SkipRecord(f"Package {name} is {package['state'].lower()} on the remote")
    title = text(package.get("title")) or text(package.get("name"))
    if not title:
        raise SkipRecord(f"Package {name} has no title")
    warnings: list[str] = []
    mapped = (map_resource(raw, base_url, package, warnings) for raw in package.get("resources") or [])
    resources = [resource for resource in mapped if resource]
    if not resources:
        listed = package.get("num_resources")
        if isinstance(listed, int) and listed > 0 and "resources" not in package:
            raise SkipRecord(f"Package {name} has no resources in the portal's answer (it counts {listed})")
        raise SkipRecord(f"Package {name} has no resources")
    extras = map_extras(package.get("extras") or [], warnings)
    license_values = [text(package.get(key)) for key in ("license_id", "license_title", "license_url")]
    license_id = licenses.guess(*license_values) if licenses else None
    extras.copied |= license_extras(license_id, *(text(package.get(key)) for key in ("license_title", "license_id",
                                                                                      "license_url")))
    dataset = Dataset(
        title=title,
        description=html_to_markdown(package.get("notes")),
        tags=normalize_tags([tag_name(tag) for tag in package.get("tags") or []]),
        license=license_id,
        frequency=extras.frequency or HDX_FREQUENCIES.get(str(package.get("data_update_frequency") or "").strip()),
        temporal_coverage=extras.temporal or hdx_dataset_date(package.get("dataset_date")),
        spatial=extras.spatial,
        contact_points=contact_points(package, extras.contacts, warnings),
        resources=resources,
        extras=extras.copied,
        private=honor_private and package.get("private") is True,
    )
    remote = RemoteMetadata(
        remote_url=remote_url(base_url, package),
        created_at=parse_date(package.get("metadata_created")),
        modified_at=parse_date(package.get("metadata_modified")),
    )
    return Mapped(dataset=dataset, remote=remote, warnings=warnings)


@dataclass
class MappedExtras:
    """What a package's extras give: the extras copied as they are, and those mapped to dataset fields."""

    copied: dict[str, Any]
    spatial: Spatial | None
    frequency: str | None
    temporal: TemporalCoverage | None
    contacts: dict[str, Any]


def map_extras(extras: list[dict[str, Any]] | dict[str, Any], warnings: list[str]) -> MappedExtras:
    """Extras into copied extras, spatial, frequency, temporal coverage and contact fields; empty values are
    dropped; a frequency or temporal extra that cannot be read is kept under a `ckan:` key."""
    pairs = extras.items() if isinstance(extras, dict) else ((extra.get("key"), extra.get("value")) for extra in extras)
    values = {key: value for key, value in pairs if key and not is_empty(value)}
    copied = {key: value for key, value in values.items() if key not in MAPPED_EXTRAS.union(PREFIXED_EXTRAS)}
    copied |= {f"ckan:{key}": values[key] for key in PREFIXED_EXTRAS if key in values}
    frequency = frequency_id(str(values.get("frequency") or ""))
    if "frequency" in values and frequency is None:
        copied["ckan:frequency"] = values["frequency"]
    # ckanext-spatial's temporal_start / temporal_end, else a data.gov (DCAT-US) `temporal` interval
    temporal = temporal_coverage(as_text(values.get("temporal_start")), as_text(values.get("temporal_end")))
    if temporal is None and "temporal" in values:
        temporal = temporal_from_literal(as_text(values["temporal"]))
        if temporal is None:
            copied["ckan:temporal"] = values["temporal"]
    contacts = {key: values[key] for key in CONTACT_EXTRAS if key in values}
    return MappedExtras(copied, map_spatial(values.get("spatial"), warnings), frequency, temporal, contacts)


def contact_points(package: dict[str, Any], extras: dict[str, Any], warnings: list[str]) -> list[ContactPoint]:
    """The maintainer (`contact`), the author (`creator`), and the contacts named in extras, each once."""
    named = [(package.get(name), package.get(email), role) for name, email, role in PACKAGE_CONTACTS]
    named += [(extras.get(name), extras.get(email) if email else None, role) for name, email, role in EXTRA_CONTACTS]
    found: list[ContactPoint] = []
    for name, email, role in named:
        person = text(name) if not USER_ID.fullmatch(text(name)) else ""
        contact = make_contact(person, text(email), None, role, warnings)
        if contact and contact not in found:
            found.append(contact)
    return found


def hdx_dataset_date(value: Any) -> TemporalCoverage | None:
    """HDX's `dataset_date` (the period the data covers) as a temporal coverage."""
    value = text(value)
    if match := HDX_SOLR_RANGE.fullmatch(value):
        return temporal_coverage(match[1], match[2])
    if match := HDX_US_DATES.fullmatch(value):
        start = f"{match[3]}-{int(match[1]):02d}-{int(match[2]):02d}"
        end = f"{match[6]}-{int(match[4]):02d}-{int(match[5]):02d}" if match[6] else start
        return temporal_coverage(start, end)
    return None


def map_spatial(value: Any, warnings: list[str]) -> Spatial | None:
    """A GeoJSON Polygon or MultiPolygon (text or object); anything else is left out with a warning."""
    if value is None:
        return None
    geometry = geometry_from_geojson(value)
    if geometry is None:
        warnings.append(f"Spatial extra is not valid GeoJSON, ignored: {str(value)[:200]}")
        return None
    if geometry["type"] not in ("Polygon", "MultiPolygon"):
        warnings.append(f"Spatial extra is a {geometry['type']}, only Polygon and MultiPolygon are kept")
        return None
    spatial = merge_polygons([geometry])
    if spatial is None:
        warnings.append("Spatial extra has invalid coordinates, ignored")
    return spatial


def map_resource(
    raw: dict[str, Any], base_url: str, package: dict[str, Any], warnings: list[str]
) -> Resource | None:
    url = text(raw.get("url"))
    if not is_http_url(url):
        warnings.append(f"Resource {raw.get('id') or raw.get('name')!r} has no valid URL ({url!r}), ignored")
        return None
    resource_id = str(raw.get("id") or "").strip()
    mime = text(raw.get("mimetype")).lower()
    created, modified = parse_date(raw.get("created")), parse_date(raw.get("last_modified"))
    return Resource(
        title=text(raw.get("name")) or url_filename(url) or url,
        url=url,
        description=html_to_markdown(raw.get("description")) or None,
        type=RESOURCE_TYPES.get(text(raw.get("resource_type")).lower(), "main"),
        format=text(raw.get("format")).lower() or file_extension(url),
        mime=mime if "/" in mime else None,
        filesize=parse_size(raw.get("size")),
        checksum=checksum(raw.get("hash")),
        harvest=ResourceHarvest(
            uri=f"{base_url}/dataset/{package_id(package)}/resource/{resource_id}" if resource_id else None,
            issued_at=created,
            modified_at=modified,
        ),
        created_at=created,
        last_modified=modified,
    )


# --- values -----------------------------------------------------------------------------------------------

_DKAN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*-\s*(\d{1,2}):(\d{2}))?")
_SIZE = re.compile(r"([\d.,]+)\s*([a-zA-Z]*)")
_SIZE_UNITS = {"": 0, "b": 0, "o": 0, "octet": 0, "octets": 0, "byte": 0, "bytes": 0,
               "k": 1, "kb": 1, "ko": 1, "kib": 1, "m": 2, "mb": 2, "mo": 2, "mib": 2,
               "g": 3, "gb": 3, "go": 3, "gib": 3, "t": 4, "tb": 4, "to": 4, "tib": 4}


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 (CKAN), or DKAN's French fuzzy dates: "mar, 10/12/2019 - 09:23", "Date changed  jeu, 19/12/2019"."""
    if not isinstance(value, str) or not value.strip():
        return None
    if match := _DKAN_DATE.search(value):
        day, month, year, hour, minute = (int(part) if part else 0 for part in match.groups())
        try:
            return datetime(year, month, day, hour, minute, tzinfo=UTC)
        except ValueError:
            return None
    return parse_datetime(value)


def parse_size(value: Any) -> int | None:
    """Bytes from an integer or a text such as "42 octets", "1.5 MB", "3,2 Mo" (binary multiples, as Drupal)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or match[2].lower() not in _SIZE_UNITS:
        return None
    try:
        number = float(match[1].replace(",", "."))
    except ValueError:
        return None
    return int(number * 1024 ** _SIZE_UNITS[match[2].lower()])


def checksum(value: Any) -> Checksum | None:
    """A checksum from a CKAN `hash`: "algo:digest", or a bare digest whose length tells md5, sha1 or sha256."""
    if not isinstance(value, str) or not value.strip():
        return None
    algorithm, _, digest = value.strip().rpartition(":")
    if not algorithm:
        algorithm = next((name for name, length in CHECKSUM_LENGTHS.items() if length == len(digest)), "")
    return normalize_checksum(algorithm, digest)


def tag_name(tag: Any) -> str:
    return str(tag.get("display_name") or tag.get("name") or "") if isinstance(tag, dict) else str(tag or "")


def as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def is_empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}
