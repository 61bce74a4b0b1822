"""The one HTTP client every backend uses, and the one safe way to parse XML.

Every request has a connect and a read timeout, a total deadline and a body size cap (see
`harvesters.transport`); network failures and 429/502/503/504 answers to GET and HEAD are retried a few times
(tenacity), waiting the server's Retry-After up to a cap, else an exponential backoff. Errors come back as
HttpError with a message that names the URL and what went wrong, in words an operator understands. A backend
gets the client held to its source (`Http.for_source`): links and redirects stay on the source's origin,
connections off internal addresses, and every request counts against the gather's page budget.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from lxml import etree
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

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


class Retryable(Exception):
    """An attempt at `url` that may pass later: the error to raise if none is left, the wait the server asked for."""

    def __init__(self, url: str, error: HttpError, after: float | None = None) -> None:
        super().__init__(str(error))
        self.url = url
        self.error = error
        self.after = after


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
        """The answer; GET and HEAD are tried again after a network failure or a 429/502/503/504 answer, up to
        HARVEST_HTTP_RETRIES times. An error answer, or a failure with no attempt left, raises HttpError."""
        self._check(url)
        kwargs.setdefault("timeout", self.timeout)
        attempts = 1 + (self.options.retries if method.upper() in IDEMPOTENT_METHODS else 0)
        retrying = Retrying(stop=stop_after_attempt(attempts), wait=_wait, retry=retry_if_exception_type(Retryable),
                            before_sleep=self._before_retry, reraise=True)
        try:
            return retrying(self._attempt, method, url, kwargs)
        except Retryable as failed:
            raise failed.error from None

    def _attempt(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        """One request: the answer, HttpError when trying again cannot help, Retryable when it may."""
        try:
            with CATALOG_REQUEST.time():
                response = self.session.request(method, url, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            raise Retryable(url, self._network_error(url, error)) from None
        except requests.RequestException as error:
            raise HttpError(f"Request to {url} failed: {error}") from None
        if response.status_code < 400:
            return response
        status = f"HTTP {response.status_code} {response.reason or ''}".strip()
        failure = HttpError(f"{status} from {url}", status=response.status_code, response=response)
        if response.status_code not in RETRIED_STATUSES:
            raise failure
        raise Retryable(url, failure, retry_after(response.headers.get("Retry-After")))

    def _before_retry(self, state: RetryCallState) -> None:
        """Let the failed answer go; a server asking to wait longer than HARVEST_HTTP_RETRY_AFTER_MAX fails the
        request now."""
        failed = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(failed, Retryable) or failed.error.response is None:
            return
        failed.error.response.close()
        if failed.after is not None and failed.after > self.options.retry_after_max:
            status = failed.error.status
            raise HttpError(f"HTTP {status} from {failed.url} asks to retry after {failed.after:g}s "
                            f"(Retry-After), longer than the {self.options.retry_after_max:g}s allowed "
                            "(HARVEST_HTTP_RETRY_AFTER_MAX): not waiting", status=status)

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


_backoff = wait_exponential(multiplier=BACKOFF)  # attempt n (from 1) failed: BACKOFF * 2**(n - 1) seconds


def _wait(state: RetryCallState) -> float:
    """Seconds before the next attempt: the server's Retry-After, else none after the first failure (a dropped
    connection, a restart), then an exponential backoff."""
    failed = state.outcome.exception() if state.outcome is not None else None
    if isinstance(failed, Retryable) and failed.after is not None:
        return failed.after
    return 0.0 if state.attempt_number == 1 else _backoff(state)


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
