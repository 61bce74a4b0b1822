"""Which of the target portal's licenses a remote catalog means.

A catalog names a license by URL, id or title, often loosely ("Licence Ouverte v2.0",
"https://www.etalab.gouv.fr/licence-ouverte-open-licence/"). `LicenseIndex.guess` matches such
values against the portal's list (the shape of udata's GET /api/1/datasets/licenses/), in stages
from the surest to the loosest, every value trying a stage before any value tries the next:

1. exact id, URL or alternate URL (case-insensitive);
2. the same URL host and path (ignoring scheme, `www.`, a trailing slash, query and fragment);
3. the same title once normalised (case, accents, punctuation), alternate titles included;
4. a near-equal title (at most 2 edits, same version numbers, a single candidate);
5. a URL found inside a free text ("Soumis à la licence Etalab : https://...") matched as in 1-2.

Well-known aliases the portal's list lacks (Creative Commons and SPDX identifiers, the EU and DCAT-AP.de
license vocabularies) count as alternates of the license they name, when the portal has that license; the
portal's own names always win over them.

A license text that names none of the portal's licenses is not lost: `license_extras` keeps it in the
dataset's extras, under `harvest:license`, for every backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from slugify import slugify

from harvesters.settings import settings

MAX_DISTANCE = 2
GUESS_CACHE_SIZE = 10_000
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')]+", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]+>")
_TYPOGRAPHIC = str.maketrans({"’": "'", "‘": "'", "‛": "'", "ʼ": "'", "–": "-", "—": "-"})

#: Extra URLs (host+path prefixes) and titles by license id, used only if the portal has the id.
WELL_KNOWN_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "cc-by": {
        "urls": ("creativecommons.org/licenses/by/", "publications.europa.eu/resource/authority/licence/CC_BY_4_0",
                 "dcat-ap.de/def/licenses/cc-by", "dcat-ap.de/def/licenses/cc-by-4.0"),
        "titles": ("CC-BY", "CC BY 4.0", "CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
    },
    "cc-by-sa": {
        "urls": ("creativecommons.org/licenses/by-sa/", "publications.europa.eu/resource/authority/licence/CC_BYSA_4_0",
                 "dcat-ap.de/def/licenses/cc-by-sa", "dcat-ap.de/def/licenses/cc-by-sa-4.0"),
        "titles": ("CC-BY-SA", "CC BY-SA 4.0", "CC-BY-SA-4.0",
                   "Creative Commons Attribution-ShareAlike 4.0 International"),
    },
    "cc-zero": {
        "urls": ("creativecommons.org/publicdomain/zero/", "publications.europa.eu/resource/authority/licence/CC0",
                 "dcat-ap.de/def/licenses/cc-zero"),
        "titles": ("CC0", "CC0-1.0", "CC0 1.0 Universal"),
    },
    "odc-odbl": {
        "urls": ("opendatacommons.org/licenses/odbl/", "spdx.org/licenses/ODbL-1.0", "dcat-ap.de/def/licenses/odbl"),
        "titles": ("ODbL", "ODbL-1.0"),
    },
    "odc-by": {"urls": ("opendatacommons.org/licenses/by/", "spdx.org/licenses/ODC-By-1.0",
                        "dcat-ap.de/def/licenses/odby"), "titles": ("ODC-By-1.0",)},
    "odc-pddl": {"urls": ("opendatacommons.org/licenses/pddl/", "spdx.org/licenses/PDDL-1.0",
                          "dcat-ap.de/def/licenses/odcpddl"), "titles": ("PDDL-1.0",)},
    "lov2": {"urls": ("spdx.org/licenses/etalab-2.0",), "titles": ("Licence Ouverte 2.0",)},
    "fr-lo": {"urls": (), "titles": ("Licence Ouverte", "Licence Ouverte v1.0", "Licence Ouverte version 1.0")},
}


def url_key(value: str) -> str | None:
    """Host (without `www.`) and path (without trailing slash) of an http(s) URL, lowercased; else None."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/').lower()}"


@lru_cache(maxsize=65_536)
def title_key(value: str) -> str:
    """A title reduced to lowercase ASCII words joined by dashes (typographic quotes count as quotes; cached)."""
    return slugify(value.translate(_TYPOGRAPHIC), lowercase=True)


def edit_distance(a: str, b: str, limit: int = MAX_DISTANCE) -> int:
    """Damerau-Levenshtein distance (optimal string alignment); `limit + 1` once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _numbers(key: str) -> list[str]:
    return re.findall(r"\d+", key)


class _Names:
    """One tier of names by which licenses are known: exact values, URL keys and prefixes, title keys."""

    def __init__(self) -> None:
        self.exact: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        self.url_prefixes: list[tuple[str, str]] = []
        self.titles: dict[str, set[str]] = {}

    def add_url(self, url: str, license_id: str, exact: bool = True) -> None:
        if exact:
            self.exact.setdefault(url.strip().lower(), license_id)
        if key := (url_key(url) if exact else url.rstrip("/").lower()):
            self.urls.setdefault(key, license_id)
            self.url_prefixes.append((key + "/", license_id))

    def add_title(self, title: str, license_id: str) -> None:
        if key := title_key(title):
            self.titles.setdefault(key, set()).add(license_id)


class LicenseIndex:
    """The portal's licenses, indexed for `guess`.

    The portal's own ids, URLs and titles are one tier, the well-known aliases another: at every stage
    the portal's own names are tried first, so that a portal listing `lov1` "Licence Ouverte Version
    1.0" gets `lov1` for that title even though it is also an alias of `fr-lo`.
    """

    def __init__(self, licenses: list[dict[str, Any]]) -> None:
        self.licenses = licenses
        self.ids = [str(lic["id"]) for lic in licenses if lic.get("id")]
        self._own, self._aliases = _Names(), _Names()
        for lic in licenses:
            if lic.get("id"):
                self._add(str(lic["id"]), lic)
        self._cache: dict[tuple[str | None, ...], str | None] = {}

    def _add(self, license_id: str, lic: dict[str, Any]) -> None:
        self._own.exact.setdefault(license_id.lower(), license_id)
        for url in [lic.get("url"), *(lic.get("alternate_urls") or [])]:
            if url:
                self._own.add_url(url, license_id)
        for title in [license_id, lic.get("title"), *(lic.get("alternate_titles") or [])]:
            if title:
                self._own.add_title(title, license_id)
        aliases = WELL_KNOWN_ALIASES.get(license_id, {})
        for alias in aliases.get("urls", ()):
            self._aliases.add_url(alias, license_id, exact=False)
        for title in aliases.get("titles", ()):
            self._aliases.add_title(title, license_id)

    def __contains__(self, license_id: object) -> bool:
        return license_id in self.ids

    def guess(self, *values: str | None) -> str | None:
        """The id of the license the values name (see the module's stages), or None."""
        if values not in self._cache:
            if len(self._cache) >= GUESS_CACHE_SIZE:
                self._cache.clear()
            texts = [value.strip() for value in values if value and value.strip()]
            self._cache[values] = next(
                (found for stage in self._stages() for names in (self._own, self._aliases) for text in texts
                 if (found := stage(names, text))), None
            )
        return self._cache[values]

    def _stages(self) -> Iterable[Callable[[_Names, str], str | None]]:
        return (self._exact, self._same_url, self._same_title, self._near_title, self._url_in_text)

    @staticmethod
    def _exact(names: _Names, value: str) -> str | None:
        return names.exact.get(value.lower())

    @staticmethod
    def _same_url(names: _Names, value: str) -> str | None:
        key = url_key(value)
        if not key:
            return None
        if found := names.urls.get(key):
            return found
        candidates = {lid for prefix, lid in names.url_prefixes if key.startswith(prefix)}
        if not candidates:  # the value is the parent page of a single license's URL
            candidates = {lid for prefix, lid in names.url_prefixes if prefix.startswith(key + "/")}
        return candidates.pop() if len(candidates) == 1 else None

    @staticmethod
    def _same_title(names: _Names, value: str) -> str | None:
        candidates = names.titles.get(title_key(value), set())
        return next(iter(candidates)) if len(candidates) == 1 else None

    @staticmethod
    def _near_title(names: _Names, value: str) -> str | None:
        key = title_key(value)
        if not key:
            return None
        numbers = _numbers(key)
        candidates = {
            lid
            for title, ids in names.titles.items()
            if _numbers(title) == numbers and edit_distance(key, title) <= MAX_DISTANCE
            for lid in ids
        }
        return candidates.pop() if len(candidates) == 1 else None

    @classmethod
    def _url_in_text(cls, names: _Names, value: str) -> str | None:
        urls = {match.rstrip(".,;") for match in _URL_IN_TEXT.findall(_HTML_TAG.sub(" ", value))}
        if url_key(value) or not urls:
            return None
        found = {lid for url in urls if (lid := cls._exact(names, url) or cls._same_url(names, url))}
        return found.pop() if len(found) == 1 else None


LICENSE_EXTRA = "harvest:license"
#: Texts that say nothing about a license: never kept as one.
PLACEHOLDER_TEXTS = frozenset({"none", "n/a", "na", "null", "unknown", "-", "."})


def license_extras(license_id: str | None, *values: str | None) -> dict[str, str]:
    """`{"harvest:license": text}` when no portal license was recognised (`license_id` is None) but the remote
    names one: its first text that says something ("None", "N/A" do not) is kept; else nothing."""
    text = next((value.strip() for value in values
                 if value and value.strip() and value.strip().lower() not in PLACEHOLDER_TEXTS), None)
    return {LICENSE_EXTRA: text} if license_id is None and text else {}


BUNDLED_LICENSES = "data/licenses.json"


def load_license_file(path: str | None = None) -> LicenseIndex:
    """The index of a JSON license list (`path`, else HARVEST_LICENSES_FILE, else the bundled data.gouv.fr list)."""
    path = path or settings().licenses_file
    return _load(path)


@cache
def _load(path: str | None) -> LicenseIndex:
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"Unable to read the licenses file {path}: {error}") from None
    else:
        data = json.loads(resources.files("harvesters").joinpath(BUNDLED_LICENSES).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(item, dict) and item.get("id") for item in data):
        raise ValueError(f"The licenses file {path or BUNDLED_LICENSES} must be a JSON list of objects with an 'id'")
    return LicenseIndex(data)
