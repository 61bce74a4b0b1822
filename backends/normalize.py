"""Value clean-up shared by the mappings: text, tags, dates, URLs, frequencies, coverages, checksums.

Pure functions, no network: every backend maps remote values to udata values through these.
"""

from __future__ import annotations

import calendar
import json
import math
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal, TypeGuard
from urllib.parse import urlparse

from slugify import slugify

from backends.html import markdown
from harvesters.models import Checksum, ContactPoint, Geometry, Spatial, TemporalCoverage

TAG_MIN_LENGTH = 3
TAG_MAX_LENGTH = 96
#: Apostrophes udata drops from a tag (rather than turning them into a dash): "d'urbanisme" -> "durbanisme".
_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


def html_to_markdown(text: str | None) -> str:
    """Markdown for text that contains HTML; other text is returned stripped."""
    if not text:
        return ""
    text = text.strip()
    if not _HTML_TAG.search(text):
        return text
    return _BLANK_LINES.sub("\n\n", markdown(text)).strip()


@lru_cache(maxsize=65_536)
def normalize_tag(value: str) -> str | None:
    """The slug udata keeps as a tag, or None when shorter than 3 characters (cached: catalogs repeat tags).

    As udata does, an apostrophe is dropped: "document d'urbanisme" gives `document-durbanisme`.
    """
    tag = slugify(value.translate(_APOSTROPHES), max_length=TAG_MAX_LENGTH, word_boundary=False, lowercase=True)
    return tag if len(tag) >= TAG_MIN_LENGTH else None


def normalize_tags(values: list[str]) -> list[str]:
    """Slugified, lowercased, 3 to 96 characters (longer ones cut), unique, sorted."""
    return sorted({tag for value in values if value and (tag := normalize_tag(value))})


@lru_cache(maxsize=4096)  # a catalog's dates repeat (a whole catalog updated on one day)
def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 text; None if unparseable.

    A date alone is midnight UTC; a partial date (`2013`, `2004-02`) is the first day of its period,
    never completed with today's month or day. A time-zone offset is kept.
    """
    if not value:
        return None
    text = value.strip()
    if match := _PARTIAL_DATE.fullmatch(text):
        year, month = int(match[1]), int(match[2] or 1)
        return datetime(year, month, 1, tzinfo=UTC) if 1 <= month <= 12 else None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{1,2}))?")


def is_http_url(value: str | None) -> TypeGuard[str]:
    """An absolute http(s) URL with a host and no whitespace inside."""
    if not value or _WHITESPACE.search(text := value.strip()):
        return False
    if text.startswith(("http://", "https://")) and text.isascii() and "[" not in text and "]" not in text:
        return text[text.index("//") + 2:][:1] not in ("", "/", "?", "#")  # what most are, without parsing them
    parsed = urlparse(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def text(value: Any) -> str:
    """A remote value as text: a string stripped, anything else (None, a number, a list) empty."""
    return value.strip() if isinstance(value, str) else ""


def url_filename(url: str) -> str | None:
    """The last segment of a URL's path (or a bare file name), without its query."""
    name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name or None


#: Data file extensions longer than the usual two to five characters.
LONG_EXTENSIONS = frozenset({"geojson", "jsonld", "parquet"})
_EXTENSION = re.compile(r"[a-z0-9]{2,5}")


def file_extension(url: str) -> str | None:
    """The extension of the file a URL or a file name names (`.../data.CSV` -> csv, `gtfs.zip` -> zip), when it
    looks like one: two to five letters or digits, or a longer data file extension (`geojson`)."""
    name = url_filename(url) or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return extension if _EXTENSION.fullmatch(extension) or extension in LONG_EXTENSIONS else None


# --- update frequency ---------------------------------------------------------------------------------

#: udata's frequency ids (GET /api/1/datasets/frequencies/).
FREQUENCIES: tuple[str, ...] = (
    "continuous", "oneMinute", "fiveMinutes", "tenMinutes", "fifteenMinutes", "thirtyMinutes", "hourly",
    "bihourly", "trihourly", "twelveHours", "severalTimesADay", "threeTimesADay", "semidaily", "daily",
    "fiveTimesAWeek", "threeTimesAWeek", "semiweekly", "weekly", "biweekly", "threeTimesAMonth", "semimonthly",
    "monthly", "bimonthly", "quarterly", "threeTimesAYear", "semiannual", "annual", "biennial", "triennial",
    "quadrennial", "quinquennial", "decennial", "bidecennial", "tridecennial", "punctual", "irregular", "never",
    "notPlanned", "other", "unknown",
)
DC_FREQUENCY = "http://purl.org/cld/freq/"
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
#: EU frequency authority codes whose udata id is not the code itself.
EU_FREQUENCY_CODES: dict[str, str] = {
    "update_cont": "continuous", "1min": "oneMinute", "5min": "fiveMinutes", "10min": "tenMinutes",
    "15min": "fifteenMinutes", "30min": "thirtyMinutes", "12hrs": "twelveHours", "cont": "severalTimesADay",
    "daily_3": "threeTimesADay", "daily_2": "semidaily", "weekly_5": "fiveTimesAWeek",
    "weekly_3": "threeTimesAWeek", "weekly_2": "semiweekly", "monthly_3": "threeTimesAMonth",
    "monthly_2": "semimonthly", "annual_3": "threeTimesAYear", "annual_2": "semiannual", "as_needed": "punctual",
    "irreg": "irregular", "not_planned": "notPlanned",
}
#: Older udata ids, ISO 19115 maintenance frequency codes and common spellings still found in catalogs.
LEGACY_FREQUENCIES: dict[str, str] = {
    "realtime": "continuous", "fourtimesaday": "severalTimesADay", "fourtimesaweek": "other",
    "fortnighly": "biweekly", "fortnightly": "biweekly", "biannual": "semiannual", "none": "unknown",
    "continual": "continuous", "biannually": "semiannual", "annually": "annual", "asneeded": "punctual",
}
_FREQUENCY_BY_KEY: dict[str, str] = {
    **{frequency.lower(): frequency for frequency in FREQUENCIES},
    **EU_FREQUENCY_CODES,
    **LEGACY_FREQUENCIES,
}


#: ISO 8601 durations of a repeating interval (`R/P1W`, as DCAT-US writes `accrualPeriodicity`) and their udata id.
DURATION_FREQUENCIES: dict[str, str] = {
    "PT1M": "oneMinute", "PT5M": "fiveMinutes", "PT10M": "tenMinutes", "PT15M": "fifteenMinutes",
    "PT30M": "thirtyMinutes", "PT1H": "hourly", "PT2H": "bihourly", "PT3H": "trihourly", "PT12H": "twelveHours",
    "P1D": "daily", "P0.5W": "semiweekly", "P3.5D": "semiweekly", "P1W": "weekly", "P2W": "biweekly",
    "P0.5M": "semimonthly", "P1M": "monthly", "P2M": "bimonthly", "P3M": "quarterly", "P4M": "threeTimesAYear",
    "P6M": "semiannual", "P1Y": "annual", "P12M": "annual", "P2Y": "biennial", "P3Y": "triennial",
    "P4Y": "quadrennial", "P5Y": "quinquennial", "P10Y": "decennial", "P20Y": "bidecennial", "P30Y": "tridecennial",
}
_REPEATING_INTERVAL = re.compile(r"R\d*/(P[0-9.TYMWDHS]+)", re.IGNORECASE)


def repeating_frequency(value: str | None) -> str | None:
    """The udata frequency id of an ISO 8601 repeating interval (`R/P1D`, `R/PT1H`, `R/P1Y`...), else None."""
    match = _REPEATING_INTERVAL.fullmatch((value or "").strip())
    return DURATION_FREQUENCIES.get(match[1].upper()) if match else None


def frequency_id(value: str | None) -> str | None:
    """The udata frequency id for a Dublin Core / EU frequency URI, or a literal code, else None.

    Accepts `http://purl.org/cld/freq/daily`, `http://publications.europa.eu/resource/authority/frequency/DAILY_2`
    (http or https), ISO 8601 repeating intervals (`R/P1W`), and literals such as `daily`, `WEEKLY_3`,
    `threeTimesAWeek`, or ISO 19115 MD_MaintenanceFrequencyCode values (`continual`, `asNeeded`...),
    case-insensitive.
    """
    if not value:
        return None
    text = value.strip()
    if found := repeating_frequency(text):
        return found
    for namespace in (DC_FREQUENCY, EU_FREQUENCY):
        for prefix in (namespace, namespace.replace("http://", "https://", 1)):
            if text.startswith(prefix):
                text = text[len(prefix):]
    return _FREQUENCY_BY_KEY.get(text.strip("/").lower())


# --- temporal coverage --------------------------------------------------------------------------------


def parse_date_bound(text: str | None, end: bool = False) -> datetime | None:
    """A period bound from `YYYY`, `YYYY-MM`, a date or a datetime; a partial end bound is its last day.

    `end=True` turns `2016` into 2016-12-31 and `2016-02` into 2016-02-29. None if unparseable or open (`..`).
    """
    if not text or not (text := text.strip()) or text == "..":
        return None
    match = _PARTIAL_DATE.fullmatch(text)
    start = parse_datetime(text)
    if not (end and match and start):
        return start
    month = int(match[2]) if match[2] else 12
    return datetime(start.year, month, calendar.monthrange(start.year, month)[1], tzinfo=UTC)


def temporal_coverage(start: str | None, end: str | None) -> TemporalCoverage | None:
    """A coverage from two bound texts (either may be missing: open ends); None if neither parses or start > end."""
    first, last = parse_date_bound(start), parse_date_bound(end, end=True)
    if not first and not last:
        return None
    if first and last and first > last:
        return None
    return TemporalCoverage(start=first, end=last)


def temporal_from_literal(text: str | None) -> TemporalCoverage | None:
    """A coverage from a literal: `start/end` (ISO 8601 interval, open ends allowed), `YYYY`, `YYYY-MM` or a date."""
    if not text or not (text := text.strip()):
        return None
    if text.count("/") == 1:
        start, end = text.split("/")
        return temporal_coverage(start, end)
    return temporal_coverage(text, text)


# --- spatial coverage ---------------------------------------------------------------------------------

Polygon = list[list[list[float]]]
DEFAULT_GRANULARITY = "other"  # udata's spatial granularity when a coverage names no zone level


def geometry_from_geojson(text: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """A GeoJSON geometry (dict or JSON text; a Feature's geometry is used); None if not valid JSON."""
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError:
            return None
    if isinstance(text, dict) and text.get("type") == "Feature":
        text = text.get("geometry")
    return text if isinstance(text, dict) and isinstance(text.get("type"), str) else None


_WKT_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_WKT_CRS = re.compile(r"^\s*(?:SRID=\d+\s*;|<[^>]*>)\s*", re.IGNORECASE)
_WKT_POLYGON = re.compile(r"(MULTIPOLYGON|POLYGON)\s*(?:Z|M|ZM)?\s*(\(.*\))", re.IGNORECASE | re.DOTALL)
_WKT_TOKEN = re.compile(rf"\(|\)|,|{_WKT_NUMBER}|\S", re.IGNORECASE)


def geometry_from_wkt(text: str | None) -> dict[str, Any] | None:
    """A GeoJSON Polygon or MultiPolygon from WKT (an `SRID=...;` or GeoSPARQL `<crs>` prefix is ignored).

    Other geometry types and malformed text give None.
    """
    if not text:
        return None
    body = _WKT_CRS.sub("", text).strip()
    match = _WKT_POLYGON.fullmatch(body)
    if not match:
        return None
    try:
        nested = _wkt_nested(match[2])
    except ValueError:
        return None
    kind = "MultiPolygon" if match[1].upper() == "MULTIPOLYGON" else "Polygon"
    depth = 4 if kind == "MultiPolygon" else 3
    return {"type": kind, "coordinates": nested} if _depth(nested) == depth else None


def _wkt_nested(text: str) -> list[Any]:
    """Parse `((x y, x y), (...))` into nested lists; positions become lists of floats. Any other character
    than a token or a space is a token of its own, which `float` refuses (ValueError)."""
    stack: list[list[Any]] = [[]]
    position: list[float] = []
    for token in _WKT_TOKEN.findall(text):
        if token == "(":
            stack.append([])
        elif token in (")", ","):
            if position:
                stack[-1].append(position)
                position = []
            if token == ")":
                if len(stack) < 2:
                    raise ValueError("unbalanced parentheses")
                closed = stack.pop()
                stack[-1].append(closed)
        else:
            position.append(float(token))
    if len(stack) != 1 or len(stack[0]) != 1 or position:
        raise ValueError("unbalanced parentheses")
    return stack[0][0]


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def bbox_to_polygon(text: str | None) -> dict[str, Any] | None:
    """A Polygon from an ArcGIS-style `W,S,E,N` bounding box literal; None if it is not four numbers."""
    parts = (text or "").strip().split(",")
    if len(parts) != 4:
        return None
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        return None
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


_NUMBERS = (int, float)


def _finite_number(value: Any) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool) and math.isfinite(value)


def corners_to_polygon(text: str | None) -> dict[str, Any] | None:
    """A Polygon from two corners written `[[lat, lon], [lat, lon]]` (the bounding box some POD `spatial`
    values hold: south-west then north-east); pairs that can only be `[lon, lat]` are read so. None otherwise."""
    try:
        corners = json.loads(text or "")
    except ValueError:
        return None
    if not (isinstance(corners, list) and len(corners) == 2 and all(
            isinstance(corner, list) and len(corner) == 2 and all(map(_finite_number, corner)) for corner in corners)):
        return None
    (lat1, lon1), (lat2, lon2) = corners
    if max(abs(lat1), abs(lat2)) > 90 >= max(abs(lon1), abs(lon2)):
        (lon1, lat1), (lon2, lat2) = corners
    if max(abs(lat1), abs(lat2)) > 90 or max(abs(lon1), abs(lon2)) > 180:
        return None
    return bbox_to_polygon(f"{min(lon1, lon2)},{min(lat1, lat2)},{max(lon1, lon2)},{max(lat1, lat2)}")


def geometry_from_text(text: str | None) -> dict[str, Any] | None:
    """A geometry from an untyped literal, in the forms DCAT-US (POD) allows for `spatial`: GeoJSON, a
    `W,S,E,N` bounding box, or two `[lat, lon]` corners. A place name gives None."""
    text = (text or "").strip()
    if text.startswith("{"):
        return geometry_from_geojson(text)
    return corners_to_polygon(text) if text.startswith("[") else bbox_to_polygon(text)


def _valid_polygon(polygon: Any) -> bool:
    """Rings of at least 4 finite 2D+ positions, each closed."""
    if not isinstance(polygon, list) or not polygon:
        return False
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            return False
        for position in ring:
            if not isinstance(position, list) or len(position) < 2 or not all(map(_finite_number, position)):
                return False
        if ring[0][:2] != ring[-1][:2]:
            return False
    return True


def merge_polygons(geometries: list[dict[str, Any] | None]) -> Spatial | None:
    """Polygons and MultiPolygons merged (deduplicated) into one MultiPolygon spatial coverage.

    Other geometry types are ignored; any invalid polygon (NaN, unclosed ring...) leaves spatial unset.
    """
    polygons: list[Polygon] = []
    for geometry in geometries:
        if not geometry:
            continue
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        candidates = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
        if not isinstance(candidates, list):
            return None
        for polygon in candidates:
            if not _valid_polygon(polygon):
                return None
            polygon = [[position[:2] for position in ring] for ring in polygon]
            if polygon not in polygons:
                polygons.append(polygon)
    if not polygons:
        return None
    return Spatial(geom=Geometry(type="MultiPolygon", coordinates=polygons), granularity=DEFAULT_GRANULARITY)


# --- checksums ----------------------------------------------------------------------------------------

ChecksumType = Literal["md5", "sha1", "sha256"]
CHECKSUM_LENGTHS: dict[ChecksumType, int] = {"md5": 32, "sha1": 40, "sha256": 64}


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")
_HEX_DIGITS = re.compile(r"[0-9a-f]+")


@lru_cache(maxsize=256)  # a catalog names a few algorithms, over and over
def checksum_algorithm(value: str | None) -> ChecksumType | None:
    """`md5`, `sha1` or `sha256` from a name or URI (`SHA-256`, `spdx:checksumAlgorithm_sha1`,
    `http://dcat-ap.de/def/hashAlgorithms/sha/256`...); else None."""
    if not value:
        return None
    name = _NOT_ALPHANUMERIC.sub("", value.strip().lower())
    return next((kind for kind in ("sha256", "sha1", "md5") if name.endswith(kind)), None)


def normalize_checksum(algorithm: str | None, value: str | None) -> Checksum | None:
    """A checksum udata accepts: a known algorithm and a hex digest of the right length (lowercased); else None."""
    kind = checksum_algorithm(algorithm)
    digest = (value or "").strip().lower()
    if not kind or len(digest) != CHECKSUM_LENGTHS[kind] or not _HEX_DIGITS.fullmatch(digest):
        return None
    return Checksum(type=kind, value=digest)


# --- dates and contacts -------------------------------------------------------------------------------


def past_datetime(value: str | None, label: str = "date") -> tuple[datetime | None, str | None]:
    """A date that is neither unparseable nor in the future, else None with the warning to log."""
    if not value or not value.strip():
        return None, None
    parsed = parse_datetime(value)
    if parsed is None:
        return None, f"Unparseable {label} '{value.strip()}' ignored"
    if parsed > datetime.now(UTC):
        return None, f"Future {label} '{value.strip()}' ignored"
    return parsed, None


#: Obfuscated `@` and `.` in published addresses: `name(at)host.tld`, `name [at] host [dot] tld`, `name AT host`.
_OBFUSCATED_AT = re.compile(r"\s*(?:[\[({<]\s*at\s*[\])}>]|\s+at\s+)\s*", re.IGNORECASE)
_OBFUSCATED_DOT = re.compile(r"\s*[\[({<]\s*(?:dot|punkt|point)\s*[\])}>]\s*", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+")


@lru_cache(maxsize=4096)  # a catalog's contacts are a few, named by record after record
def clean_email(value: str | None) -> str | None:
    """An email address without its `mailto:` scheme (or query), with an obfuscated `(at)` / `[dot]` put
    back; None when no address can be read (the contact is then kept without one)."""
    text = (value or "").strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?")[0]
    text = _OBFUSCATED_DOT.sub(".", _OBFUSCATED_AT.sub("@", text.strip()))
    return text if _EMAIL.fullmatch(text) else None


#: udata's limit on a contact point's name and email (StringField max_length).
CONTACT_FIELD_MAX_LENGTH = 255
_URL_IN_NAME = re.compile(r"\(?\s*(?:https?://|www\.)[^\s()]+\s*\)?", re.IGNORECASE)


@lru_cache(maxsize=4096)
def contact_name(name: str | None) -> str:
    """A contact's name without the URLs it holds, its spaces collapsed, cut to udata's limit."""
    return " ".join(_URL_IN_NAME.sub(" ", name or "").split())[:CONTACT_FIELD_MAX_LENGTH].strip()


def make_contact(name: str | None, email: str | None, form: str | None, role: str,
                 warnings: list[str]) -> ContactPoint | None:
    """The contact point udata accepts, or None: the one rule of every backend.

    udata's ContactPoint requires a name (and refuses one holding a URL), and for role `contact` only an email
    or a contact form; other roles (publisher, creator...) are kept with a name alone. An obfuscated email
    (`name(at)host.tld`) is read, one that cannot be read is left out (the contact is kept without it); a
    nameless contact with an email is named by it. A contact with neither a name nor an email names nobody:
    it is left out with a warning, as is a `contact` that no one can write to."""
    email = clean_email(email)
    email = email if email and len(email) <= CONTACT_FIELD_MAX_LENGTH else None
    name = contact_name(name) or email
    form = form.strip() if form and is_http_url(form) else None
    if not name:
        if form:
            warnings.append(f"Contact point '{form}' ({role}) has neither a name nor an email: left out")
        return None
    if role == "contact" and not (email or form):
        warnings.append(f"Contact point '{name}' has neither an email nor a contact form: left out")
        return None
    return ContactPoint(name=name, email=email, contact_form=form, role=role)
