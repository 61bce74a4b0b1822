"""A catalog's identity: its URL once normalised, with its backend. Two sources with one identity would harvest
every dataset twice, so a second one is refused unless forced, and the store keeps the identity under a unique
key, so that processes registering the same catalog at once (two `harvest run URL` started together) make one.

Normalised: http and https alike, host in lower case without a final dot, no default port, no user info, no
fragment, no repeated or trailing slash in the path, query parameters in order.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from harvesters.origin import DEFAULT_PORTS, WEB_SCHEMES


def normalized_url(url: str) -> str:
    """The catalog `url` names, whatever its spelling (see the module's docstring)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "file://" + posixpath.normpath(unquote(parts.path))
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # not a number: kept as written, it names no other catalog
        port = None
        host = parts.netloc.rsplit("@", 1)[-1].lower()
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    kind = "web" if scheme in WEB_SCHEMES else scheme
    return f"{kind}://{netloc}{path}" + (f"?{query}" if query else "")


def catalog_identity(url: str, backend: str) -> str:
    """The key a source is unique under: a hash of its backend and normalised URL (any length of URL fits)."""
    return hashlib.sha256(f"{backend}\n{normalized_url(url)}".encode()).hexdigest()
