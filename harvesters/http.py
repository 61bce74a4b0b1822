"""The one HTTP client every backend uses, and the one safe way to parse XML.

Every request has a connect and a read timeout, a total deadline and a body size cap (see
`harvesters.transport`); 429/502/503/504 answers to GET and HEAD are retried a few times, honouring the
server's Retry-After up to a cap. Errors come back as HttpError with a message that names the URL and what
went wrong, in words an operator understands. A backend gets the client held to its source
(`Http.for_source`): links and redirects stay on the source's origin, connections off internal addresses,
and every request counts against the gather's page budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from lxml import etree

from harvesters import __version__
from harvesters.metrics import CATALOG_REQUEST
from harvesters.origin import RefusedUrl, SourceOrigin
from harvesters.settings import Settings, settings
from harvesters.transport import BoundedSession, HttpError

if TYPE_CHECKING:
    from backends.base import GatherBudget

USER_AGENT = f"udata-harvesters/{__version__} (+https://github.com/opendatateam/udata)"
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
BACKOFF = 0.5  # seconds; the n-th retry without Retry-After waits BACKOFF * 2**n (the first one none)


@dataclass(frozen=True)
class HttpOptions:
    """What every request of a client is held to (the HARVEST_HTTP_* settings)."""

    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_bytes: int
    retries: int
    retry_after_max: float
    allow_private_addresses: bool

    @classmethod
    def from_settings(cls, config: Settings) -> HttpOptions:
        return cls(config.http_connect_timeout, config.http_read_timeout, config.http_total_timeout,
                   config.http_max_bytes, config.http_retries, config.http_retry_after_max,
                   config.allow_private_addresses)


class Http:
    def __init__(self, options: HttpOptions | None = None, *, origin: SourceOrigin | None = None,
                 budget: GatherBudget | None = None, **changes: Any) -> None:
        """`changes` override single options (`Http(read_timeout=5, retries=0)`)."""
        self.options = replace(options or HttpOptions.from_settings(settings()), **changes)
        self.origin = origin
        self.budget = budget
        self.timeout = (self.options.connect_timeout, self.options.read_timeout)
        self.session = BoundedSession(self.options.total_timeout, self.options.max_bytes, origin)
        self.session.headers["User-Agent"] = USER_AGENT

    def for_source(self, url: str, allowed_hosts: Collection[str] = (), budget: GatherBudget | None = None) -> Http:
        """A client held to one source: its links and redirects on http(s) and on its origin (or `allowed_hosts`),
        its connections off internal addresses (unless the source is on one), every request counted in `budget`."""
        origin = SourceOrigin(url, allowed_hosts, self.options.allow_private_addresses)
        return Http(self.options, origin=origin, budget=budget)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self._check(url)
        kwargs.setdefault("timeout", self.timeout)
        retried = method.upper() in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            last = not retried or attempt >= self.options.retries
            try:
                with CATALOG_REQUEST.time():
                    response = self.session.request(method, url, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as error:
                if last:
                    raise self._network_error(url, error) from None
                time.sleep(backoff(attempt))
            except requests.RequestException as error:
                raise HttpError(f"Request to {url} failed: {error}") from None
            else:
                if response.status_code in RETRIED_STATUSES and not last:
                    self._wait_to_retry(url, response, attempt)
                elif response.status_code >= 400:
                    status = f"HTTP {response.status_code} {response.reason or ''}".strip()
                    raise HttpError(f"{status} from {url}", status=response.status_code, response=response)
                else:
                    return response
            attempt += 1

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One attempt, answered as the server answers it: no retry, no redirect followed (it would carry the
        request's credentials elsewhere), an error status returned rather than raised (an API explains it in
        the body). A network failure raises HttpError; Unreachable when the request never left."""
        self._check(url)
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, url, allow_redirects=False, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            raise self._network_error(url, error) from None
        except requests.RequestException as error:
            raise HttpError(f"Request to {url} failed: {error}") from None

    def _check(self, url: str) -> None:
        """Hold the request to the client's origin and count it in its budget."""
        if self.origin is not None:
            try:
                self.origin.check_url(url)
            except RefusedUrl as refused:
                raise HttpError(str(refused)) from None
        if self.budget is not None:
            self.budget.count_page(url)

    def _wait_to_retry(self, url: str, response: requests.Response, attempt: int) -> None:
        """Sleep before retrying: the server's Retry-After up to HARVEST_HTTP_RETRY_AFTER_MAX (asking for longer
        fails the request now), else a short backoff."""
        asked = retry_after(response.headers.get("Retry-After"))
        response.close()
        if asked is not None and asked > self.options.retry_after_max:
            raise HttpError(f"HTTP {response.status_code} from {url} asks to retry after {asked:g}s (Retry-After), "
                            f"longer than the {self.options.retry_after_max:g}s allowed "
                            "(HARVEST_HTTP_RETRY_AFTER_MAX): not waiting", status=response.status_code)
        time.sleep(asked if asked is not None else backoff(attempt))

    def _network_error(self, url: str, error: Exception) -> HttpError:
        if isinstance(error, requests.ReadTimeout) or "Read timed out" in str(error):
            return HttpError(f"Timed out after {self.timeout[1]:g}s waiting for {url}")
        unsent = isinstance(error, requests.ConnectTimeout) or _reason(error) in UNSENT_REASONS
        return (Unreachable if unsent else HttpError)(f"Unable to reach {url}: {_reason(error)}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.get(url, **kwargs)
        return parse_json(response)


class Unreachable(HttpError):
    """The request never reached the server (connection refused, unknown host, connect timeout): it was
    certainly not carried out."""


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt + 1` without Retry-After: none for the first, then BACKOFF * 2**attempt."""
    return BACKOFF * 2**attempt if attempt else 0.0


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def parse_json(response: requests.Response) -> Any:
    """The response's JSON, or an error saying what came back instead."""
    if media_type(response) == "text/html" or response.content.lstrip()[:1] == b"<":
        raise HttpError(f"{response.url} returned HTML where JSON was expected")
    try:
        return response.json()
    except ValueError as error:
        raise HttpError(f"{response.url} returned invalid JSON: {error}") from None


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


UNSENT_REASONS = frozenset({"connection refused", "name or service not known",
                            "temporary failure in name resolution", "connection timed out", "connect timeout"})


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "Connection timed out", "Connect timeout"):
        if marker in text:
            return marker.lower()
    return text


XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=True,
    remove_blank_text=True,
)
#: A document type (or entity) declaration, in any letter case: XML says `<!DOCTYPE`, lenient parsers take more.
_DOCUMENT_TYPE = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)


def refuse_document_type(content: bytes, source: str) -> None:
    """Refuse XML that declares a document type, wherever and however spelled: its entities could expand a
    small document into gigabytes or read local files, and a catalog document has no use for one."""
    found = _DOCUMENT_TYPE.search(content)
    if found is None:
        return
    if content[found.end():found.end() + 64].lstrip()[:4].lower() == b"html":
        raise HttpError(f"{source} returned HTML where XML was expected")
    raise _document_type_refused(source)


def _document_type_refused(source: str) -> HttpError:
    return HttpError(f"Refused the XML from {source}: it declares a document type (<!DOCTYPE ...>), whose "
                     "entities could expand it without bound; a catalog document has no use for one")


def parse_xml(content: bytes, source: str = "document") -> etree._Element:
    """Parse XML with no document type, entity, DTD or network."""
    refuse_document_type(content, source)
    try:
        root = etree.fromstring(content, parser=XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise HttpError(f"Invalid XML from {source}: {error}") from None
    if root.getroottree().docinfo.doctype:  # declared in an encoding the byte search does not read (UTF-16)
        raise _document_type_refused(source)
    return root
