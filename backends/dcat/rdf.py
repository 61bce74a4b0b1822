"""RDF pages: detect the serialization, parse fast (pyoxigraph), index once, cut out one dataset.

A page is parsed into an index subject -> predicate -> objects, built once. A dataset's record is
the part of that index reachable from its node (distributions, contacts, themes...), in a
JSON-LD-like form so it can be stored, queued and mapped without the page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat

from backends.base import GatherError

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
HYDRA = "http://www.w3.org/ns/hydra/core#"
HYDRA_NEXT = (HYDRA + "next", HYDRA + "nextPage")

Term = dict[str, str]
Graph = dict[str, dict[str, list[Term]]]

FORMAT_BY_EXTENSION: dict[str, RdfFormat] = {
    "xml": RdfFormat.RDF_XML,
    "rdf": RdfFormat.RDF_XML,
    "owl": RdfFormat.RDF_XML,
    "ttl": RdfFormat.TURTLE,
    "jsonld": RdfFormat.JSON_LD,
    "json": RdfFormat.JSON_LD,
    "nt": RdfFormat.N_TRIPLES,
    "n3": RdfFormat.N3,
    "trig": RdfFormat.TRIG,
}
FORMAT_BY_MIME: dict[str, RdfFormat] = {
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/xml": RdfFormat.RDF_XML,
    "text/xml": RdfFormat.RDF_XML,
    "text/turtle": RdfFormat.TURTLE,
    "application/x-turtle": RdfFormat.TURTLE,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/json": RdfFormat.JSON_LD,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/n3": RdfFormat.N3,
    "text/rdf+n3": RdfFormat.N3,
    "application/trig": RdfFormat.TRIG,
}
ACCEPT = ", ".join([*FORMAT_BY_MIME, "*/*;q=0.1"])


def guess_format(url: str, content_type: str) -> RdfFormat:
    """The serialization from the URL's extension, else from the response's media type."""
    path = urlparse(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if extension in FORMAT_BY_EXTENSION:
        return FORMAT_BY_EXTENSION[extension]
    mime = content_type.split(";")[0].strip().lower()
    if mime in FORMAT_BY_MIME:
        return FORMAT_BY_MIME[mime]
    raise GatherError(f'Unsupported mime type "{mime or "unknown"}"')


def key(term: NamedNode | BlankNode) -> str:
    return term.value if isinstance(term, NamedNode) else f"_:{term.value}"


def encode(term: Any) -> Term:
    if isinstance(term, Literal):
        encoded = {"@value": term.value}
        if term.language:
            encoded["@language"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            encoded["@type"] = term.datatype.value
        return encoded
    return {"@id": key(term)}


class Page:
    """One parsed RDF document, indexed by subject."""

    def __init__(self, content: bytes, fmt: RdfFormat, base_iri: str) -> None:
        self.graph: Graph = {}
        try:
            for triple in pyoxigraph.parse(content, format=fmt, base_iri=base_iri, without_named_graphs=False,
                                           rename_blank_nodes=False):
                subject = key(triple.subject)
                self.graph.setdefault(subject, {}).setdefault(triple.predicate.value, []).append(
                    encode(triple.object)
                )
        except (SyntaxError, ValueError, OSError) as error:
            raise GatherError(f"Unable to parse {fmt.name} from {base_iri}: {error}") from None

    def subjects_of_type(self, *types: str) -> Iterator[str]:
        wanted = set(types)
        for subject, predicates in self.graph.items():
            if any(obj.get("@id") in wanted for obj in predicates.get(RDF_TYPE, [])):
                yield subject

    def referenced_by(self, node: str) -> set[str]:
        """Predicates through which other nodes point to `node`."""
        return {
            predicate
            for predicates in self.graph.values()
            for predicate, objects in predicates.items()
            if any(obj.get("@id") == node for obj in objects)
        }

    def next_pages(self) -> list[str]:
        """Hydra next-page links (PartialCollectionView's `next`, PagedCollection's `nextPage`)."""
        return [
            obj.get("@id") or obj.get("@value", "")
            for predicates in self.graph.values()
            for predicate in HYDRA_NEXT
            for obj in predicates.get(predicate, [])
        ]

    def closure(self, root: str, stop_types: set[str]) -> Graph:
        """The nodes reachable from `root`, without entering other nodes of `stop_types`."""
        found: Graph = {}
        queue = deque([root])
        while queue:
            node = queue.popleft()
            if node in found or node not in self.graph:
                continue
            predicates = self.graph[node]
            if node != root and any(obj.get("@id") in stop_types for obj in predicates.get(RDF_TYPE, [])):
                continue
            found[node] = predicates
            queue.extend(obj["@id"] for objects in predicates.values() for obj in objects if "@id" in obj)
        return found
