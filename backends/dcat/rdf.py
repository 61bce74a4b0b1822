"""RDF pages: detect the serialization, parse fast (pyoxigraph), index once, cut out one dataset.

A page is parsed into an index subject -> predicate -> objects, built once. A dataset's record is
the part of that index reachable from its node (distributions, contacts, themes...), in a
JSON-LD-like form so it can be stored, queued and mapped without the page.

Two kinds of broken input found in real catalogs are repaired rather than rejected: RDF/XML
property elements carrying both `rdf:resource` and a text (GeoNetwork writes the label there;
it is kept as the resource's `rdfs:label`), and JSON-LD documents whose `@context` is a remote
URL (never fetched: known contexts are bundled, others fail the page with a clear message).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import pyoxigraph
from lxml import etree
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat

from backends.base import GatherError
from harvesters.http import HttpError, parse_xml

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_TYPE = RDF + "type"
HYDRA = "http://www.w3.org/ns/hydra/core#"
HYDRA_NEXT = (HYDRA + "next", HYDRA + "nextPage")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

Term = dict[str, str]
Graph = dict[str, dict[str, list[Term]]]

#: Records stop at these nodes: each is harvested (or ignored) on its own. They are kept as a stub
#: holding only their types, so a mapping knows what a link points to.
RECORD_BOUNDARIES = frozenset({DCAT + "Dataset", DCAT + "DatasetSeries", DCAT + "Catalog", DCAT + "CatalogRecord"})
#: How many links from the dataset a record follows (distribution -> service -> contact -> org is 4).
RECORD_DEPTH = 5

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

#: Remote JSON-LD contexts we know, bundled (the network is never used to resolve a context).
BUNDLED_CONTEXTS: dict[str, str] = {
    "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld": "dcat-us-1.1.jsonld",
    "http://project-open-data.cio.gov/v1.1/schema/catalog.jsonld": "dcat-us-1.1.jsonld",
}


GENERIC_MIMES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})


def guess_format(url: str, content_type: str, content: bytes = b"") -> RdfFormat:
    """The serialization from the response's media type; for a generic one, from the URL's extension or content."""
    mime = content_type.split(";")[0].strip().lower()
    if mime in FORMAT_BY_MIME:
        return FORMAT_BY_MIME[mime]
    if mime not in GENERIC_MIMES:
        raise GatherError(f'Unsupported mime type "{mime}"')
    name = urlparse(url).path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in FORMAT_BY_EXTENSION:
        return FORMAT_BY_EXTENSION[extension]
    start = content.lstrip()[:1]
    if start in (b"{", b"["):
        return RdfFormat.JSON_LD
    if start == b"<":
        return RdfFormat.RDF_XML
    raise GatherError("Unable to detect format from extension or mime type")


def encode(term: NamedNode | BlankNode | Literal) -> Term:
    """A term as JSON-LD: `{"@id"}` for a node (blank nodes as `_:id`), `{"@value", "@language" | "@type"}`."""
    if isinstance(term, Literal):
        encoded = {"@value": term.value}
        if term.language:
            encoded["@language"] = term.language
        elif (datatype := term.datatype.value) != XSD_STRING:
            encoded["@type"] = datatype
        return encoded
    return {"@id": term.value if isinstance(term, NamedNode) else f"_:{term.value}"}


class Page:
    """One parsed RDF document, indexed by subject (insertion order is document order)."""

    def __init__(self, content: bytes, fmt: RdfFormat, base_iri: str) -> None:
        self.base_iri = base_iri
        self.graph: Graph = {}
        self._incoming: dict[str, set[str]] | None = None
        if fmt == RdfFormat.JSON_LD:
            content = inline_contexts(content, base_iri)
        elif fmt == RdfFormat.RDF_XML:
            check_entities(content, base_iri)
        try:
            self._load(content, fmt)
        except SyntaxError as error:
            if fmt != RdfFormat.RDF_XML:
                raise GatherError(f"Unable to parse {fmt.name} from {base_iri}: {error}") from None
            self.graph = {}
            self._load_repaired(content, error)

    def _load(self, content: bytes, fmt: RdfFormat) -> None:
        """Index the triples (the hot loop of a harvest: `encode` is inlined for nodes on purpose).

        Blank nodes are named `_:b0`, `_:b1`... in the order they appear (the parser names them anew on every
        parse): a page read again unchanged gives the same records, which are then not mapped again."""
        graph = self.graph
        blanks: dict[str, str] = {}
        triples = pyoxigraph.parse(content, format=fmt, base_iri=self.base_iri, lenient=True)
        last_subject, predicates = None, {}
        for subject, predicate, obj, _ in triples:
            if subject != last_subject:  # a document's triples come grouped by subject: look it up once
                last_subject = subject
                if type(subject) is NamedNode:
                    node = subject.value
                elif (node := blanks.get(subject.value)) is None:
                    node = blanks[subject.value] = f"_:b{len(blanks)}"
                predicates = graph.get(node)
                if predicates is None:
                    predicates = graph[node] = {}
            key = predicate.value
            objects = predicates.get(key)
            if objects is None:
                objects = predicates[key] = []
            kind = type(obj)
            if kind is NamedNode:
                objects.append({"@id": obj.value})
            elif kind is BlankNode:
                if (name := blanks.get(obj.value)) is None:
                    name = blanks[obj.value] = f"_:b{len(blanks)}"
                objects.append({"@id": name})
            elif language := obj.language:
                objects.append({"@value": obj.value, "@language": language})
            elif (datatype := obj.datatype.value) != XSD_STRING:
                objects.append({"@value": obj.value, "@type": datatype})
            else:
                objects.append({"@value": obj.value})

    def _load_repaired(self, content: bytes, error: SyntaxError) -> None:
        try:
            repaired = repair_rdf_xml(content, self.base_iri)
            self._load(repaired, RdfFormat.RDF_XML)
        except (SyntaxError, HttpError) as second:
            raise GatherError(f"Unable to parse RDF/XML from {self.base_iri}: {error} ({second})") from None

    def subjects_of_type(self, *types: str) -> Iterator[str]:
        """Subjects having any of `types`, each once, in document order."""
        wanted = set(types)
        for subject, predicates in self.graph.items():
            if any(obj.get("@id") in wanted for obj in predicates.get(RDF_TYPE, ())):
                yield subject

    def referenced_by(self, node: str) -> set[str]:
        """Predicates through which other nodes point to `node` (a reverse index built on first use)."""
        if self._incoming is None:
            self._incoming = {}
            for predicates in self.graph.values():
                for predicate, objects in predicates.items():
                    for obj in objects:
                        if "@id" in obj:
                            self._incoming.setdefault(obj["@id"], set()).add(predicate)
        return self._incoming.get(node, set())

    def next_pages(self) -> list[str]:
        """Hydra next-page links (PartialCollectionView's `next`, PagedCollection's `nextPage`)."""
        return [
            obj.get("@id") or obj.get("@value", "")
            for predicates in self.graph.values()
            for predicate in HYDRA_NEXT
            for obj in predicates.get(predicate, ())
        ]

    def closure(self, root: str, boundaries: frozenset[str] = RECORD_BOUNDARIES, depth: int = RECORD_DEPTH) -> Graph:
        """The nodes reachable from `root` within `depth` links; nodes of `boundaries` types are kept as stubs."""
        found: Graph = {}
        queue = deque([(root, 0)])
        while queue:
            node, distance = queue.popleft()
            if node in found or node not in self.graph:
                continue
            predicates = self.graph[node]
            types = predicates.get(RDF_TYPE, [])
            if node != root and any(obj.get("@id") in boundaries for obj in types):
                found[node] = {RDF_TYPE: types}
                continue
            found[node] = predicates
            if distance < depth:
                queue.extend(
                    (obj["@id"], distance + 1) for objects in predicates.values() for obj in objects if "@id" in obj
                )
        return found


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[(?P<subset>.*?)\])?\s*>", re.DOTALL)
_ENTITY = re.compile(rb"<!ENTITY\s+(?P<parameter>%\s*)?[\w.:-]+\s+(?P<definition>[^>]*)>", re.DOTALL)
MAX_ENTITY_LENGTH = 512


def check_entities(content: bytes, base_iri: str) -> None:
    """Refuse XML entity declarations that could blow up (nested, parameter, external or long ones).

    Short literal entities (`<!ENTITY xsd "http://www.w3.org/2001/XMLSchema#">`) are common in RDF/XML
    and allowed: expanding them cannot make a document much larger than it is.
    """
    start = content.find(b"<!DOCTYPE")
    if start < 0:
        return
    doctype = _DOCTYPE.match(content, start)
    if not doctype:
        raise GatherError(f"Unable to parse RDF/XML from {base_iri}: malformed DOCTYPE")
    for entity in _ENTITY.finditer(doctype["subset"] or b""):
        value = entity["definition"].strip()
        quoted = len(value) >= 2 and value[:1] in (b'"', b"'") and value[-1:] == value[:1]
        if entity["parameter"] or not quoted or len(value) > MAX_ENTITY_LENGTH or b"&" in value or b"%" in value:
            raise GatherError(
                f"Unable to parse RDF/XML from {base_iri}: entity declarations other than short literal "
                "values are refused"
            )


def inline_contexts(content: bytes, base_iri: str) -> bytes:
    """The JSON-LD document with its known remote `@context`s replaced by their bundled copy.

    Remote contexts are never fetched: an unknown one fails the page with a message saying so.
    """
    try:
        document = json.loads(content)
    except ValueError as error:
        raise GatherError(f"Unable to parse JSON-LD from {base_iri}: {error}") from None
    changed = _inline(document, base_iri)
    return json.dumps(document).encode() if changed else content


def _inline(value: Any, base_iri: str) -> bool:
    changed = False
    if isinstance(value, list):
        for item in value:
            changed |= _inline(item, base_iri)
    elif isinstance(value, dict):
        for name, item in value.items():
            if name == "@context":
                value[name] = _resolve_context(item, base_iri)
                changed |= value[name] is not item
            else:
                changed |= _inline(item, base_iri)
    return changed


def _resolve_context(context: Any, base_iri: str) -> Any:
    if isinstance(context, list):
        resolved = [_resolve_context(item, base_iri) for item in context]
        return resolved if any(new is not old for new, old in zip(resolved, context, strict=True)) else context
    if not isinstance(context, str):
        return context
    if context not in BUNDLED_CONTEXTS:
        raise GatherError(
            f"The JSON-LD document {base_iri} uses the remote context {context}, which is not bundled "
            "(remote contexts are never fetched)"
        )
    bundled = resources.files("backends.dcat").joinpath("contexts", BUNDLED_CONTEXTS[context]).read_text("utf-8")
    return json.loads(bundled)["@context"]


def repair_rdf_xml(content: bytes, base_iri: str) -> bytes:
    """RDF/XML where a property element with `rdf:resource` and a text keeps the text as the resource's label."""
    root = parse_xml(content, base_iri)
    resource = f"{{{RDF}}}resource"
    for element in root.iter():
        labelled = isinstance(element.tag, str) and element.get(resource) and (element.text or "").strip()
        if labelled and len(element) == 0:
            label = element.text.strip()
            element.text = None
            description = etree.SubElement(element, f"{{{RDF}}}Description")
            description.set(f"{{{RDF}}}about", element.attrib.pop(resource))
            etree.SubElement(description, f"{{{RDFS}}}label").text = label
    return etree.tostring(root)
