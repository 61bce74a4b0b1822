"""RDF pages: detect the serialization, parse fast (pyoxigraph), index once, cut out one dataset.

A page is parsed into an index subject -> predicate -> objects, built once. A dataset's record is
the part of that index reachable from its node (distributions, contacts, themes...), in a
JSON-LD-like form so it can be stored, queued and mapped without the page.

A page is parsed strictly first. Kinds of broken or partial input found in real catalogs are
repaired rather than rejected: RDF/XML property elements carrying both `rdf:resource` and a text
(GeoNetwork writes the label there; it is kept as the resource's `rdfs:label`); JSON-LD documents
whose `@context` is a remote URL (never fetched: known contexts are bundled, others fail the page
with a clear message), or whose context names Dublin Core terms `http://purl.org/dc/terms/#title`
(read as `dct:title`); and DCAT-US / POD `data.json` catalogs, recognised by their `conformsTo` or
their `dataset` array, whose datasets carry no `@type` (allowed by the POD schema) or that have no
`@context` at all. A page still invalid is read leniently (an unclosed `<` then splices lines into
one IRI, and the triples on them are lost): the page carries a `warning`, for the job and its
records. An XML document type declaration (a DTD, whose entities could expand without bound) fails
the page.
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from collections.abc import Iterator
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import pyoxigraph
from lxml import etree
from pyoxigraph import BlankNode, NamedNode, RdfFormat

from backends.base import GatherError, HttpError, parse_xml, refuse_document_type

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_TYPE = RDF + "type"
HYDRA = "http://www.w3.org/ns/hydra/core#"
HYDRA_NEXT = (HYDRA + "next", HYDRA + "nextPage")
HYDRA_TOTAL_ITEMS = HYDRA + "totalItems"
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
POD_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
BUNDLED_CONTEXTS: dict[str, str] = {
    POD_CONTEXT: "dcat-us-1.1.jsonld",
    POD_CONTEXT.replace("https://", "http://"): "dcat-us-1.1.jsonld",
    # the context of SEMIC's DCAT-AP 3 examples (the bee population dataset series...)
    "https://semiceu.github.io/uri.semic.eu-generated/DCAT-AP/releases/3.0.0/html/examples/context.jsonld":
        "dcat-ap-3.0-examples.jsonld",
}
POD_SCHEMA = "project-open-data.cio.gov/v1.1/schema"
MISSPELT_DCT = DCT + "#"


#: Prefixes of the names a person reads in messages.
PREFIXES = {DCAT: "dcat:", DCT: "dct:", "http://xmlns.com/foaf/0.1/": "foaf:",
            "http://www.w3.org/2006/vcard/ns#": "vcard:", "http://www.w3.org/2004/02/skos/core#": "skos:",
            HYDRA: "hydra:", "http://schema.org/": "schema:"}


def compact(iri: str) -> str:
    """`http://www.w3.org/ns/dcat#Dataset` -> `dcat:Dataset` for the usual namespaces."""
    return next((prefix + iri.removeprefix(namespace) for namespace, prefix in PREFIXES.items()
                 if iri.startswith(namespace)), iri)


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


class Page:
    """One parsed RDF document, indexed by subject (insertion order is document order)."""

    def __init__(self, content: bytes, fmt: RdfFormat, base_iri: str) -> None:
        self.base_iri = base_iri
        self.graph: Graph = {}
        self.warning: str | None = None  # why the page could only be read leniently ("not valid Turtle (...)...")
        self._incoming: dict[str, set[str]] | None = None
        if fmt == RdfFormat.JSON_LD:
            content = inline_contexts(content, base_iri)
        elif fmt == RdfFormat.RDF_XML:
            try:
                refuse_document_type(content, base_iri)
            except HttpError as refused:
                raise GatherError(str(refused)) from None
        try:
            self._load(content, fmt, lenient=False)
        except SyntaxError as error:
            self.graph = {}
            self._recover(content, fmt, error)

    def _load(self, content: bytes, fmt: RdfFormat, lenient: bool) -> None:
        """Index the triples as JSON-LD-like terms: `{"@id"}` for a node, `{"@value", "@language" | "@type"}`
        for a literal (the hot loop of a harvest, written inline on purpose).

        Blank nodes are named `_:b0`, `_:b1`... in the order they appear (the parser names them anew on every
        parse): a page read again unchanged gives the same records, which are then not mapped again."""
        graph = self.graph
        blanks: dict[str, str] = {}
        names: dict[NamedNode, str] = {}  # predicates and datatypes, a few per page: their IRI read once
        triples = pyoxigraph.parse(content, format=fmt, base_iri=self.base_iri, lenient=lenient)
        node: str | None
        predicates: dict[str, list[dict[str, str]]] | None
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
            if (key := names.get(predicate)) is None:
                key = names[predicate] = predicate.value
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
            else:
                if (datatype := names.get(obj.datatype)) is None:
                    datatype = names[obj.datatype] = obj.datatype.value
                if datatype != XSD_STRING:
                    objects.append({"@value": obj.value, "@type": datatype})
                else:
                    objects.append({"@value": obj.value})

    def _recover(self, content: bytes, fmt: RdfFormat, error: SyntaxError) -> None:
        """Read an invalid page: RDF/XML's known defect repaired (nothing is lost), else leniently, with a warning."""
        if fmt == RdfFormat.RDF_XML:
            try:
                content = repair_rdf_xml(content, self.base_iri)
            except HttpError as invalid:
                raise GatherError(f"Unable to parse RDF/XML from {self.base_iri}: {error} ({invalid})") from None
            try:
                return self._load(content, fmt, lenient=False)
            except SyntaxError:
                self.graph = {}
        try:
            self._load(content, fmt, lenient=True)
        except SyntaxError:
            raise GatherError(f"Unable to parse {fmt.name} from {self.base_iri}: {error}") from None
        self.warning = (f"not valid {fmt.name} ({error}): it was read leniently, so its datasets may lack "
                        "resources or fields the catalog meant to give")

    def total_items(self) -> int | None:
        """The number of items the page's collection announces (`hydra:totalItems`), if it says one thing."""
        values = {obj.get("@value", "").strip() for predicates in self.graph.values()
                  for obj in predicates.get(HYDRA_TOTAL_ITEMS, ())}
        return int(values.pop()) if len(values) == 1 and min(values).isdigit() else None

    def summary(self) -> str:
        """What the page holds, for a person: its triple count and the types it uses (most used first)."""
        triples = sum(len(objects) for predicates in self.graph.values() for objects in predicates.values())
        types = Counter(obj.get("@id", "") for predicates in self.graph.values()
                        for obj in predicates.get(RDF_TYPE, ()))
        seen = ", ".join(f"{compact(name)} ({count})" for name, count in types.most_common(8))
        return f"{triples} triples, types seen: {seen or 'none'}"

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
        graph, found = self.graph, {}
        queue = deque([(root, 0)] if root in graph else [])
        while queue:
            node, distance = queue.popleft()
            if node in found:
                continue
            predicates = graph[node]
            types = predicates.get(RDF_TYPE, [])
            if node != root and any(obj.get("@id") in boundaries for obj in types):
                found[node] = {RDF_TYPE: types}
                continue
            found[node] = predicates
            if distance < depth:
                for objects in predicates.values():
                    for obj in objects:
                        if (target := obj.get("@id")) is not None and target in graph and target not in found:
                            queue.append((target, distance + 1))
        return found


def inline_contexts(content: bytes, base_iri: str) -> bytes:
    """The JSON-LD document with its known remote `@context`s replaced by their bundled copy.

    Remote contexts are never fetched: an unknown one fails the page with a message saying so.
    """
    try:
        document = json.loads(content)
    except ValueError as error:
        raise GatherError(f"Unable to parse JSON-LD from {base_iri}: {error}") from None
    if _SURROGATE_ESCAPE.search(content) and (bad := lone_surrogate(document)):
        path, character = bad
        raise GatherError(f"Unable to parse JSON-LD from {base_iri}: the escape \\u{ord(character):04x} at {path} "
                          "is a lone UTF-16 surrogate, not a character")
    changed = type_pod_catalog(document)
    changed |= _inline(document, base_iri)
    return json.dumps(document).encode() if changed else content


#: A JSON escape of a UTF-16 surrogate: valid in pairs (an emoji), a lone one is no character.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: Any, path: str = "$") -> tuple[str, str] | None:
    """Where the decoded document holds a lone surrogate (json keeps them; RDF parsers refuse them), and which."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return (path, found.group()) if found else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        if isinstance(key, str) and (found := _SURROGATE.search(key)):
            return where, found.group()
        if bad := lone_surrogate(item, where):
            return bad
    return None


def type_pod_catalog(document: Any) -> bool:
    """Make a DCAT-US / POD `data.json` readable as JSON-LD: the POD context when it has none, and
    `dcat:Dataset` on datasets without `@type`. Whether it changed anything."""
    if not isinstance(document, dict) or not isinstance(document.get("dataset"), list):
        return False
    if POD_SCHEMA not in str(document.get("conformsTo", "")) and "@context" in document:
        return False
    changed = "@context" not in document
    document.setdefault("@context", POD_CONTEXT)
    for dataset in document["dataset"]:
        if isinstance(dataset, dict) and "@type" not in dataset:
            dataset["@type"] = "dcat:Dataset"
            changed = True
    return changed


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
                changed |= _repair_terms(value[name])
            else:
                changed |= _inline(item, base_iri)
    return changed


def _repair_terms(context: Any) -> bool:
    """Read `http://purl.org/dc/terms/#x` term definitions as `dct:x` (a slip in published contexts)."""
    changed = False
    items = context.items() if isinstance(context, dict) else enumerate(context) if isinstance(context, list) else ()
    for key, item in list(items):
        if isinstance(item, str) and item.startswith(MISSPELT_DCT):
            context[key] = DCT + item.removeprefix(MISSPELT_DCT)
            changed = True
        elif isinstance(item, dict | list):
            changed |= _repair_terms(item)
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
            label = (element.text or "").strip()
            element.text = None
            description = etree.SubElement(element, f"{{{RDF}}}Description")
            description.set(f"{{{RDF}}}about", element.attrib.pop(resource))
            etree.SubElement(description, f"{{{RDFS}}}label").text = label
    return etree.tostring(root)
