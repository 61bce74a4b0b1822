"""Where a source's requests may go: its own origin, over http(s), never to an internal address by surprise.

A catalog's paging links and redirects stay on http and https and on the source's origin (scheme, host,
port; an upgrade from http to https on the same host counts as the same), or on the extra hosts the
source allows (`allowed_hosts`). `file:` is allowed only for the source URL itself (a catalog file named
on the command line). Every connection is checked on the address its host resolved to: an internal one
(loopback, private, link-local, unspecified...) is refused, unless the source's own host is one (a catalog
registered on 127.0.0.1 or localhost reaches that host) or HARVEST_ALLOW_PRIVATE_ADDRESSES is set (an
intranet harvested by name).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOW_PRIVATE = "set HARVEST_ALLOW_PRIVATE_ADDRESSES=1 to harvest an intranet"
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$")


class RefusedUrl(ValueError):
    """A link, redirect or address a source's requests may not reach; the message names it and why."""


def is_internal_address(address: str) -> bool:
    """Not a public unicast address: loopback, private, link-local, unspecified, shared, reserved, multicast (an
    IPv4-mapped IPv6 address by its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def is_internal_host(host: str) -> bool:
    """A host named as an internal address: an internal IP literal, or localhost (RFC 6761)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return is_internal_address(host)
    except ValueError:  # a name: only its resolved addresses tell, when connecting
        return False


def parse_hosts(value: str | None) -> frozenset[str]:
    """`allowed_hosts` as given in a source's config: hosts or host:port, separated by commas or spaces."""
    hosts = set()
    for entry in re.split(r"[\s,]+", (value or "").strip().lower()):
        if not entry:
            continue
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        host = parts.hostname or ""
        if (port is not None and not 0 < port < 65536) or parts.path or not (_HOST.match(host) or _is_ip(host)):
            raise ValueError(f"'{entry}' is not a host or host:port")
        hosts.add(host if port is None else f"{host}:{port}")
    return frozenset(hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Origin:
    """A URL's scheme, host and port (the port its scheme implies when it names none)."""

    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port or DEFAULT_PORTS.get(scheme)
        except ValueError:
            raise RefusedUrl(f"Refused {url}: its port is not a number") from None
        return cls(scheme, (parts.hostname or "").rstrip("."), port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port != DEFAULT_PORTS.get(self.scheme) else "")


class SourceOrigin:
    """What one source's requests may reach (see the module's docstring)."""

    def __init__(self, url: str, allowed_hosts: Collection[str] = (), allow_private: bool = False) -> None:
        self.url = url
        self.origin = Origin.of(url)
        self.allowed_hosts = frozenset(allowed_hosts)
        self.allow_private = allow_private
        self.internal_source = is_internal_host(self.origin.host)

    def check_url(self, url: str, redirected_from: str | None = None) -> None:
        """Refuse a URL the source may not fetch: not http(s) (the source's own `file:` URL aside) or off its origin."""
        if url == self.url:
            return
        what = f"the redirect from {redirected_from} to {url}" if redirected_from else url
        target = Origin.of(url)
        if target.scheme not in WEB_SCHEMES:
            raise RefusedUrl(f"Refused {what}: only http and https links are followed")
        if not target.host:
            raise RefusedUrl(f"Refused {what}: it names no host")
        if self.on_origin(target) or self.allows_host(target):
            return
        raise RefusedUrl(f"Refused {what}: it leaves the source's origin {self.origin} (the extra config "
                         "allowed_hosts names other hosts it may lead to)")

    def allows_host(self, target: Origin) -> bool:
        """`allowed_hosts` names the target's host (any port) or its host:port."""
        return target.host in self.allowed_hosts or f"{target.host}:{target.port}" in self.allowed_hosts

    def on_origin(self, target: Origin) -> bool:
        """The source's own origin, or its upgrade from http to https."""
        if target == self.origin:
            return True
        upgrade = Origin("https", self.origin.host, DEFAULT_PORTS["https"])
        return self.origin.scheme == "http" and self.origin.port == DEFAULT_PORTS["http"] and target == upgrade

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to that a connection may use; RefusedUrl when none may be used."""
        found = dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        if self.allow_private or (self.internal_source and host.lower().rstrip(".") == self.origin.host.lower()):
            return list(found)
        allowed = [address for address in found if not is_internal_address(address)]
        if not allowed:
            internal = ", ".join(found)
            raise RefusedUrl(f"Refused to connect to {host} ({internal}): an internal address (loopback, private, "
                             f"link-local), which only a source registered on it may reach; {ALLOW_PRIVATE}")
        return allowed

