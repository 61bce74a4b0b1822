"""The one HTTP client every backend uses, and the one safe way to parse XML.

Every request has a connect and a read timeout; errors come back as HttpError with a message
that names the URL and what went wrong, in words an operator understands.
"""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree
from requests.adapters import HTTPAdapter
from requests_file import FileAdapter
from urllib3.util.retry import Retry

from harvesters import __version__
from harvesters.settings import settings

USER_AGENT = f"udata-harvesters/{__version__} (+https://github.com/opendatateam/udata)"


class HttpError(Exception):
    """A request failed; the message says which URL and why."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.response = response  # the error answer, for APIs that explain the error in its body


class Http:
    def __init__(
        self,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
    ) -> None:
        config = settings()
        self.timeout = (
            connect_timeout if connect_timeout is not None else config.http_connect_timeout,
            read_timeout if read_timeout is not None else config.http_read_timeout,
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        retry = Retry(
            total=config.http_retries if retries is None else retries,
            backoff_factor=0.5,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.mount("file://", FileAdapter())

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            if isinstance(error, requests.ReadTimeout) or "Read timed out" in str(error):
                raise HttpError(f"Timed out after {self.timeout[1]:g}s waiting for {url}") from None
            raise HttpError(f"Unable to reach {url}: {_reason(error)}") from None
        except requests.RequestException as error:
            raise HttpError(f"Request to {url} failed: {error}") from None
        if response.status_code >= 400:
            raise HttpError(f"HTTP {response.status_code} {response.reason or ''} from {url}".replace("  ", " "),
                            status=response.status_code, response=response)
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.get(url, **kwargs)
        return parse_json(response)


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


def parse_xml(content: bytes, source: str = "document") -> etree._Element:
    """Parse XML without expanding entities, loading a DTD or touching the network."""
    try:
        return etree.fromstring(content, parser=XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise HttpError(f"Invalid XML from {source}: {error}") from None
