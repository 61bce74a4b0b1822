"""Pure mapping of one DCAT dataset record (see rdf.Page.closure) to a udata dataset."""

from __future__ import annotations

from dataclasses import dataclass

from backends.base import SkipRecord
from backends.dcat.rdf import DCAT, DCT, RDF_TYPE, Graph, Term
from backends.normalize import html_to_markdown, is_http_url, normalize_tags, parse_datetime, url_filename
from harvesters.models import Dataset, Mapped, RemoteMetadata, Resource

SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


@dataclass(frozen=True)
class Node:
    """A node of a record's graph, with typed accessors."""

    graph: Graph
    id: str

    @property
    def uri(self) -> str | None:
        return None if self.id.startswith("_:") else self.id

    def values(self, predicate: str) -> list[Term]:
        return self.graph.get(self.id, {}).get(predicate, [])

    def nodes(self, predicate: str) -> list[Node]:
        return [Node(self.graph, value["@id"]) for value in self.values(predicate) if "@id" in value]

    def literals(self, predicate: str) -> list[Term]:
        return [value for value in self.values(predicate) if "@value" in value]

    def text(self, predicate: str, language: str = "fr") -> str | None:
        """The best literal: in `language`, else untagged, else the first."""
        return best_literal(self.literals(predicate), language)

    def types(self) -> set[str]:
        return {value["@id"] for value in self.values(RDF_TYPE) if "@id" in value}

    def label(self, language: str = "fr") -> str | None:
        for predicate in (SKOS + "prefLabel", DCT + "title", RDFS + "label", FOAF + "name"):
            if text := self.text(predicate, language):
                return text
        return None


LANGUAGE_ALIASES = {"fr": {"fr", "fre", "fra"}, "en": {"en", "eng"}, "de": {"de", "ger", "deu"}}


def best_literal(literals: list[Term], language: str = "fr") -> str | None:
    if not literals:
        return None
    accepted = LANGUAGE_ALIASES.get(language, {language})
    for literal in literals:
        tag = literal.get("@language", "").lower()
        if tag and tag.split("-")[0] in accepted:
            return literal["@value"].strip()
    for literal in literals:
        if "@language" not in literal:
            return literal["@value"].strip()
    return literals[0]["@value"].strip()


def map_dataset(record: dict, language: str = "fr") -> Mapped:
    node = Node(record["graph"], record["@id"])
    title = node.text(DCT + "title", language)
    if not title:
        raise SkipRecord("missing title on dataset")
    description = node.text(DCT + "description", language) or node.text(DCT + "abstract", language)
    keywords = [literal["@value"] for literal in node.literals(DCAT + "keyword")]
    themes = [theme.label(language) or "" for theme in node.nodes(DCAT + "theme")]
    themes += [literal["@value"] for literal in node.literals(DCAT + "theme")]
    landing = next((n.uri for n in node.nodes(DCAT + "landingPage") if is_http_url(n.uri)), None)
    landing = landing or next((v["@value"] for v in node.literals(DCAT + "landingPage") if is_http_url(v["@value"])),
                              None)
    identifier = node.text(DCT + "identifier", language)
    dataset = Dataset(
        title=title,
        description=html_to_markdown(description),
        tags=normalize_tags(keywords + themes),
        resources=[
            resource
            for distribution in node.nodes(DCAT + "distribution")
            if (resource := map_distribution(distribution, language))
        ],
    )
    remote = RemoteMetadata(
        remote_url=landing or (node.uri if is_http_url(node.uri) else None),
        uri=node.uri,
        dct_identifier=identifier,
        issued_at=parse_datetime(node.text(DCT + "issued")),
        modified_at=parse_datetime(node.text(DCT + "modified")),
    )
    return Mapped(dataset=dataset, remote=remote)


def map_distribution(node: Node, language: str = "fr") -> Resource | None:
    url = next(
        (value.get("@id") or value.get("@value")
         for predicate in (DCAT + "downloadURL", DCAT + "accessURL")
         for value in node.values(predicate)),
        None,
    )
    if not url:
        return None
    fmt = _format(node)
    title = node.text(DCT + "title", language) or url_filename(url) or (f"{fmt.upper()} resource" if fmt else None)
    return Resource(
        title=title or "Nameless resource",
        url=url,
        description=html_to_markdown(node.text(DCT + "description", language)) or None,
        format=fmt,
        mime=_mime(node),
        harvest={"uri": node.uri} if node.uri else None,
    )


def _format(node: Node) -> str | None:
    for value in node.values(DCT + "format"):
        if "@value" in value:
            return value["@value"].strip().lower() or None
        label = Node(node.graph, value["@id"]).label()
        return (label or value["@id"].rstrip("/").rsplit("/", 1)[-1]).lower()
    return None


def _mime(node: Node) -> str | None:
    for value in node.values(DCAT + "mediaType"):
        text = value.get("@value") or value.get("@id", "")
        return text.removeprefix("http://www.iana.org/assignments/media-types/").removeprefix(
            "https://www.iana.org/assignments/media-types/"
        ) or None
    return None
