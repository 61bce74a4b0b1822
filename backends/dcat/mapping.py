"""Pure mapping of one DCAT record (see records.page_records) to a udata dataset or data service.

`map_dataset(record, language, licenses)` is the entry point for every DCAT-speaking backend
(`dcat`, `csw-dcat`): `record` is `{"@id": node, "graph": {node: {predicate: [terms]}}}`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from backends.base import (
    Checksum,
    ContactPoint,
    Dataservice,
    Dataset,
    LicenseIndex,
    Mapped,
    RemoteMetadata,
    Resource,
    ResourceHarvest,
    Schema,
    SkipRecord,
    Spatial,
    TemporalCoverage,
    license_extras,
)
from backends.dcat.rdf import DCAT, DCT, RDF, RDF_TYPE, Graph, Term
from backends.dcat.vocabularies import (
    ADMS,
    CONTACT_ROLES,
    DCATAP,
    DESCRIBED_BY,
    DQV,
    EU_ACCESS_RIGHT,
    EU_ACCESS_TYPES,
    EU_FILE_TYPE,
    FOAF,
    FORMAT_BY_MEDIA_TYPE,
    GEODCAT,
    GEOJSON_DATATYPES,
    IANA_MEDIA_TYPES,
    LABELS,
    ORG,
    OWL,
    PROFILE_PREFIXES,
    PROTOCOL_PATTERN,
    SCHEMA,
    SCHEMA_HTTPS,
    SCV,
    SKOS,
    SPATIAL_RESOLUTION_METRICS,
    SPDX,
    TIME,
    TIME_DURATION_PARTS,
    TIME_DURATION_TIME_PARTS,
    VCARD,
    WKT_DATATYPES,
)
from backends.normalize import (
    frequency_id,
    geometry_from_geojson,
    geometry_from_text,
    geometry_from_wkt,
    html_to_markdown,
    is_http_url,
    make_contact,
    merge_polygons,
    normalize_checksum,
    normalize_tags,
    past_datetime,
    repeating_frequency,
    temporal_coverage,
    temporal_from_literal,
    url_filename,
)
from backends.vocabularies import (
    HVD_CATEGORIES,
    HVD_LEGISLATION,
    HVD_TAG,
    INSPIRE_TAG,
    fallback_title,
    inspire_limitation,
    is_inspire_theme_uri,
    is_inspire_themes_title,
    language_codes,
    language_key,
)

DATASET_TYPES = frozenset({DCAT + "Dataset", DCAT + "DatasetSeries"})
ResourceKind = Literal["main", "api", "documentation", "other"]


def literal_language(literal: Term) -> str:
    return language_key(literal.get("@language", ""))


def choose_language(node: Node, configured: str) -> str:
    """The one language a record's texts are read in (so that it never mixes them): the configured one
    when its title or description has it, else the language most of its texts share; on a tie (or without
    any language) `""` for an untagged title, else the language of the first title."""
    fields = [node.literals(DCT + "title"), node.literals(DCT + "description", DCT + "abstract"),
              node.literals(DCAT + "keyword"), *(dist.literals(DCT + "title") for dist in distributions(node))]
    languages = [{literal_language(literal) for literal in field} - {""} for field in fields]
    if language_key(configured) in languages[0] | languages[1]:
        return configured
    counts = Counter(language for field in languages for language in field).most_common(2)
    if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]):
        return counts[0][0]
    if not counts or any(literal_language(literal) == "" for literal in fields[0]):
        return ""
    return literal_language(fields[0][0]) if fields[0] else counts[0][0]


def best_literal(literals: list[Term], language: str = "fr") -> str | None:
    """The literal in `language` (any regional variant), else the untagged one, else the first; stripped.

    Terms that are not literals are ignored.
    """
    if len(literals) == 1:  # what most values are: the one there is, whatever its language
        return literals[0].get("@value", "").strip() or None
    texts = [literal for literal in literals if literal.get("@value", "").strip()]
    if not texts:
        return None
    accepted = language_codes(language)
    chosen = next((t for t in texts if t.get("@language", "").lower().split("-")[0] in accepted), None)
    chosen = chosen or next((t for t in texts if "@language" not in t), texts[0])
    return chosen["@value"].strip()


class Node:
    """A node of a record's graph, with typed accessors."""

    __slots__ = ("graph", "id", "predicates")

    def __init__(self, graph: Graph, node_id: str) -> None:
        self.graph = graph
        self.id = node_id
        self.predicates: dict[str, list[Term]] = graph.get(node_id, {})

    @property
    def uri(self) -> str | None:
        return None if self.id.startswith("_:") else self.id

    def values(self, *predicates: str) -> list[Term]:
        if len(predicates) == 1:
            return self.predicates.get(predicates[0], [])
        return [value for predicate in predicates for value in self.predicates.get(predicate, ())]

    def nodes(self, *predicates: str) -> list[Node]:
        return [Node(self.graph, value["@id"]) for value in self.values(*predicates) if "@id" in value]

    def literals(self, *predicates: str) -> list[Term]:
        return [value for value in self.values(*predicates) if "@value" in value]

    def text(self, predicate: str, language: str = "fr") -> str | None:
        """The best literal: in `language`, else untagged, else the first."""
        values = self.predicates.get(predicate)
        return best_literal(values, language) if values else None

    def link(self, *predicates: str) -> str | None:
        """The first URI or literal value of the predicates, stripped (a URL, an identifier)."""
        for value in self.values(*predicates):
            text = (value.get("@id") or value.get("@value") or "").strip()
            if text and not text.startswith("_:"):
                return text
        return None

    def types(self) -> set[str]:
        return {value["@id"] for value in self.values(RDF_TYPE) if "@id" in value}

    def label(self, language: str = "fr") -> str | None:
        return next((text for predicate in LABELS if (text := self.text(predicate, language))), None)

    def labels(self, language: str = "fr") -> list[str]:
        """Every label of the first labelling predicate the node has (a rights statement may hold several),
        those in `language` or untagged, else its best one."""
        if not self.predicates:  # a URI the record does not describe (a license's, a theme's)
            return []
        for predicate in LABELS:
            if not (literals := [lit for lit in self.literals(predicate) if lit["@value"].strip()]):
                continue
            wanted = [lit for lit in literals if literal_language(lit) in {language_key(language), ""}]
            texts = [lit["@value"].strip() for lit in wanted] or [best_literal(literals, language) or ""]
            return list(dict.fromkeys(texts))
        return []


def readable_values(node: Node, predicate: str, language: str) -> list[str]:
    """Each value as a person reads it: a literal, a node's labels or description, else its URI."""
    readable: list[str] = []
    for value in node.values(predicate):
        if "@value" in value:
            texts = [value["@value"].strip()]
        else:
            target = Node(node.graph, value["@id"])
            texts = target.labels(language) or [target.text(DCT + "description", language) or target.uri or ""]
        readable += [text for text in texts if text and text not in readable]
    return readable


def hints(node: Node, predicate: str, language: str) -> list[str]:
    """Every text a value offers to recognise it: a literal, a node's URI and labels."""
    found = []
    for value in node.values(predicate):
        if "@value" in value:
            found.append(value["@value"])
        else:
            target = Node(node.graph, value["@id"])
            found += [target.uri or "", *(lit["@value"] for lit in target.literals(*LABELS))]
    return [text.strip() for text in found if text and text.strip()]


@dataclass
class Context:
    """What a mapping is given, and the warnings it collects for the item's log.

    `language` is the record's chosen language (see `choose_language`); `portal_language` the configured
    one, in which the titles made up for nameless resources are written.
    """

    language: str = "fr"
    licenses: LicenseIndex | None = None
    warnings: list[str] = field(default_factory=list)
    portal_language: str = "fr"
    _readable: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def readable(self, node: Node, predicate: str) -> list[str]:
        """`readable_values` in the record's language, made once per node and predicate (a distribution's
        license and access rights are read for its resource and again for the dataset's); not to be changed."""
        key = (node.id, predicate)
        if (found := self._readable.get(key)) is None:
            found = self._readable[key] = readable_values(node, predicate, self.language)
        return found

    def date(self, node: Node, predicate: str, label: str) -> datetime | None:
        text = node.text(predicate)
        if repeating_frequency(text):  # DCAT-US writes an update frequency (`R/P1W`) as `modified`
            return None
        value, warning = past_datetime(text, label)
        if warning:
            self.warnings.append(warning)
        return value


# --- dataset ----------------------------------------------------------------------------------------


def distributions(node: Node) -> list[Node]:
    return node.nodes(DCAT + "distribution", DCAT + "distributions")


def map_dataset(record: dict[str, Any], language: str = "fr", licenses: LicenseIndex | None = None) -> Mapped:
    """Map one dataset record; raises SkipRecord when it has no title, ValueError when it is malformed."""
    check_language_tags(record["graph"])
    node = Node(record["graph"], record["@id"])
    context = Context(language=choose_language(node, language), licenses=licenses, portal_language=language)
    chosen = context.language
    title = node.text(DCT + "title", chosen)
    if not title:
        raise SkipRecord("missing title on dataset")
    description = node.text(DCT + "description", chosen) or node.text(DCT + "abstract", chosen)
    dists = distributions(node)
    resources = [res for dist in dists if (res := map_distribution(dist, context))]
    resources += [res for doc in node.nodes(DCT + "hasPart") if (res := map_document(doc, context))]
    resources += [res for doc in node.nodes(*DESCRIBED_BY) if (res := map_document(doc, context, "documentation"))]
    dataset = Dataset(
        title=title,
        description=html_to_markdown(description),
        acronym=node.text(SKOS + "altLabel", chosen),
        tags=normalize_tags(keywords(node, chosen)),
        frequency=frequency(node),
        temporal_coverage=temporal(node),
        spatial=spatial(node),
        contact_points=contact_points(node, chosen, context.warnings),
        resources=merge_same_urls(resources),
    )
    apply_rights(dataset, node, dists, context)
    if resolutions := spatial_resolutions(node):
        dataset.extras.setdefault("dcat", {}).update(resolutions)
    if places := spatial_places(node, chosen):
        dataset.extras.setdefault("dcat", {})["spatial"] = places
    return Mapped(dataset=dataset, remote=remote_metadata(node, context), warnings=context.warnings)


def remote_metadata(node: Node, context: Context) -> RemoteMetadata:
    return RemoteMetadata(
        remote_url=remote_url(node),
        uri=node.uri,
        dct_identifier=node.text(DCT + "identifier", context.language) or doi(node),
        created_at=context.date(node, DCT + "created", "creation date"),
        issued_at=context.date(node, DCT + "issued", "issue date"),
        modified_at=context.date(node, DCT + "modified", "modification date"),
    )


_DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)", re.IGNORECASE)


def doi(node: Node) -> str | None:
    """A DOI among the record's `adms:identifier`s (their `skos:notation`, or their URI), as written."""
    for identifier in node.values(ADMS + "identifier"):
        target = Node(node.graph, identifier["@id"]) if "@id" in identifier else None
        texts = [identifier.get("@value", "")] if target is None else [
            *(literal["@value"] for literal in target.literals(SKOS + "notation")), target.uri or ""]
        if found := next((text.strip() for text in texts if _DOI.fullmatch(text.strip())), None):
            return found
    return None


LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


@lru_cache(maxsize=256)
def valid_language_tag(tag: str) -> bool:
    return LANGUAGE_TAG.fullmatch(tag) is not None


def check_language_tags(graph: Graph) -> None:
    """Refuse a record whose literals carry an invalid (BCP 47) language tag: the page parser is lenient. Each
    tag is checked once (a record repeats a few), the first literal carrying an invalid one named."""
    tags = {value["@language"] for predicates in graph.values() for values in predicates.values() for value in values
            if "@language" in value}
    if all(valid_language_tag(tag) for tag in tags):
        return
    for predicates in graph.values():
        for values in predicates.values():
            for value in values:
                if "@language" in value and not valid_language_tag(tag := value["@language"]):
                    raise ValueError(f"Invalid language tag '{tag}' on \"{value['@value'][:60]}\"")


def remote_url(node: Node) -> str | None:
    """The landing page, else the node's URI, when it is an http(s) URL."""
    candidates = [value.get("@id") or value.get("@value") for value in node.values(DCAT + "landingPage")]
    return next((url.strip() for url in [*candidates, node.uri] if url and is_http_url(url)), None)


def keywords(node: Node, language: str) -> list[str]:
    """Literal keywords (the record's language and untagged ones), theme labels, and the `hvd` / `inspire`
    markers."""
    literals = node.literals(DCAT + "keyword")
    wanted = {language_key(language), ""}
    chosen = [literal for literal in literals if literal_language(literal) in wanted] or literals
    words = [literal["@value"] for literal in chosen]
    for value in node.values(DCAT + "theme", DCATAP + "hvdCategory"):
        if "@value" in value:
            words.append(value["@value"])
            continue
        theme = Node(node.graph, value["@id"])
        if theme.id in HVD_CATEGORIES:
            words += [HVD_CATEGORIES[theme.id], HVD_TAG]
            continue
        if label := theme.label(language):
            words.append(label)
        if is_inspire_theme(theme, language):
            words.append(INSPIRE_TAG)
    if any(value.get("@id") == HVD_LEGISLATION for value in node.values(DCATAP + "applicableLegislation")):
        words.append(HVD_TAG)
    return words


def is_inspire_theme(theme: Node, language: str) -> bool:
    """A theme of the INSPIRE register, by its URI or its concept scheme's (URI or title)."""
    return is_inspire_theme_uri(theme.uri) or any(
        is_inspire_theme_uri(scheme.uri) or is_inspire_themes_title(scheme.label(language))
        for scheme in theme.nodes(SKOS + "inScheme"))


def frequency(node: Node) -> str | None:
    """`dct:accrualPeriodicity` (a frequency URI or code, an ISO 8601 repeating interval, a `dct:Frequency`
    whose `rdf:value` is an OWL-Time duration), else a repeating interval written as `dct:modified` (DCAT-US)."""
    for value in node.values(DCT + "accrualPeriodicity"):
        if found := frequency_id(value.get("@id") or value.get("@value")):
            return found
        if "@id" in value and (found := duration_frequency(Node(node.graph, value["@id"]))):
            return found
    return next((found for value in node.literals(DCT + "modified") if (found := repeating_frequency(value["@value"]))),
                None)


def duration_frequency(frequency_node: Node) -> str | None:
    """The udata frequency of a `dct:Frequency` node whose `rdf:value` is a `time:DurationDescription`."""
    for duration in frequency_node.nodes(RDF + "value"):
        parts = [(duration.link(TIME + name), designator) for name, designator in TIME_DURATION_PARTS]
        clock = [(duration.link(TIME + name), designator) for name, designator in TIME_DURATION_TIME_PARTS]
        text = "".join(f"{_number(amount)}{unit}" for amount, unit in parts if amount)
        text += ("T" + "".join(f"{_number(amount)}{unit}" for amount, unit in clock if amount)) if any(
            amount for amount, _ in clock) else ""
        if text and (found := repeating_frequency(f"R/P{text}")):
            return found
    return None


def _number(text: str) -> str:
    """`1.0` -> `1`, `0.5` -> `0.5`: an OWL-Time amount as ISO 8601 writes it."""
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else str(value)


def temporal(node: Node) -> TemporalCoverage | None:
    """The first `dct:temporal` giving a period: a literal, or a period node described in the record."""
    for value in node.values(DCT + "temporal"):
        if "@value" in value:
            coverage = temporal_from_literal(value["@value"])
        else:
            coverage = period(Node(node.graph, value["@id"]))
        if coverage:
            return coverage
    return None


PERIOD_BOUNDS = tuple((prefix + start, prefix + end) for prefix, start, end in (
    (SCHEMA, "startDate", "endDate"), (SCHEMA_HTTPS, "startDate", "endDate"), (DCAT, "startDate", "endDate"),
    (SCV, "min", "max"),
))


def period(node: Node) -> TemporalCoverage | None:
    """Start and end of a period node (schema.org, DCAT, SCOVO, or OWL-Time instants)."""
    for start, end in PERIOD_BOUNDS:
        if coverage := temporal_coverage(node.link(start), node.link(end)):
            return coverage
    beginning, ending = node.nodes(TIME + "hasBeginning"), node.nodes(TIME + "hasEnd")
    return temporal_coverage(
        *(instants[0].link(TIME + "inXSDDateTimeStamp", TIME + "inXSDDateTime", TIME + "inXSDDate")
          if instants else None for instants in (beginning, ending))
    )


def spatial(node: Node) -> Spatial | None:
    """GeoJSON / WKT literals of `dct:spatial` locations (any predicate), and the untyped literals DCAT-US
    writes: GeoJSON, `W,S,E,N` (ArcGIS) or `[[lat, lon], [lat, lon]]` bounding boxes."""
    geometries = []
    for value in node.values(DCT + "spatial"):
        if "@value" in value:
            geometries.append(geometry_literal(value) or geometry_from_text(value["@value"]))
        else:
            geometries += [geometry_literal(literal) for literal in all_literals(Node(node.graph, value["@id"]))]
    return merge_polygons(geometries)


def spatial_places(node: Node, language: str) -> list[str]:
    """The `dct:spatial` values that carry no geometry, as written (a place name "Philadelphia, Pennsylvania",
    a country URI): udata has no field for them, they are kept in `extras.dcat`."""
    places: list[str] = []
    for value in node.values(DCT + "spatial"):
        if "@value" in value:
            text = "" if geometry_literal(value) or geometry_from_text(value["@value"]) else value["@value"].strip()
        else:
            target = Node(node.graph, value["@id"])
            geometric = any(geometry_literal(literal) for literal in all_literals(target))
            text = "" if geometric else target.label(language) or target.uri or ""
        if text and text not in places:
            places.append(text)
    return places


def all_literals(node: Node) -> Iterable[Term]:
    return (value for values in node.predicates.values() for value in values if "@value" in value)


def geometry_literal(literal: Term) -> dict[str, Any] | None:
    return _geometry(literal.get("@type", ""), literal["@value"])


@lru_cache(maxsize=128)  # a record's coverage is read twice (its geometry, its place names): parsed once
def _geometry(datatype: str, text: str) -> dict[str, Any] | None:
    datatype = datatype.lower()
    if datatype in GEOJSON_DATATYPES:
        return geometry_from_geojson(text)
    if datatype in WKT_DATATYPES:
        return geometry_from_wkt(text)
    return None


# --- contact points ---------------------------------------------------------------------------------


def contact_points(node: Node, language: str, warnings: list[str]) -> list[ContactPoint]:
    """Contacts of every role (vCard or FOAF agents) as `make_contact` accepts them, without duplicates."""
    found: list[ContactPoint] = []
    for predicate, role in CONTACT_ROLES:
        if predicate not in node.predicates:  # most roles are not stated
            continue
        for agent in node.nodes(predicate):
            email = agent.link(VCARD + "hasEmail", VCARD + "email", DCAT + "email", FOAF + "mbox")
            form = agent.link(VCARD + "hasURL", VCARD + "hasUrl")
            contact = make_contact(agent_name(agent, language), email, form, role, warnings)
            if contact and contact not in found:
                found.append(contact)
    return found


def agent_name(agent: Node, language: str) -> str | None:
    """`Person (Organization)` for a person of an organization, else whichever name there is."""
    person = agent.text(VCARD + "fn", language) or agent.text(FOAF + "name", language)
    organization = (
        agent.text(VCARD + "organization-name", language)
        or agent.text(VCARD + "organisation-name", language)
        or next((name for org in agent.nodes(VCARD + "org", ORG + "memberOf")
                 if (name := org.text(VCARD + "organization-name", language)
                     or org.text(VCARD + "organisation-name", language) or org.label(language))), None)
    )
    person = person or agent.label(language)
    if person and organization and organization != person:
        return f"{person} ({organization})"
    return person or organization


# --- license, rights, access --------------------------------------------------------------------------


def apply_rights(dataset: Dataset, node: Node, distributions: list[Node], context: Context) -> None:
    """License (guessed, else its text kept), access type (INSPIRE limitations, EU access rights), and the raw
    statements in `extras.dcat`; a license that every distribution states alike is lifted to the dataset's
    statements when it has none (as udata does)."""
    language = context.language
    statements = {
        "license": context.readable(node, DCT + "license"),
        "rights": context.readable(node, DCT + "rights"),
        "accessRights": access_rights(node, distributions, context),
        "provenance": context.readable(node, DCT + "provenance"),
    }
    if not statements["license"] and not statements["rights"]:
        statements["license"] = common([context.readable(dist, DCT + "license") for dist in distributions])
    extras = {key: values for key, values in statements.items() if values}
    if extras:
        dataset.extras["dcat"] = extras
    candidates = [hints(node, DCT + "license", language), hints(node, DCT + "rights", language)]
    for predicate in (DCT + "license", DCT + "rights"):
        candidates.append([hint for dist in distributions for hint in hints(dist, predicate, language)])
    access = [*hints(node, DCT + "accessRights", language), *(hint for group in candidates for hint in group)]
    for distribution in distributions:
        access += hints(distribution, DCT + "accessRights", language) + hints(distribution, DCAT + "accessRights",
                                                                               language)
    if category := inspire_limitation(access):
        dataset.access_type, dataset.access_type_reason_category = "restricted", category
        return
    dataset.access_type = eu_access_type(node, distributions)
    if context.licenses is not None:
        # the dataset's license, else its rights, else its distributions' licenses, else their rights
        dataset.license = next((found for group in candidates if (found := context.licenses.guess(*group))), None)
        texts = [*statements["license"], *statements["rights"],
                 *(text for dist in distributions for text in context.readable(dist, DCT + "license"))]
        dataset.extras |= license_extras(dataset.license, *texts)


def common(per_distribution: list[list[str]]) -> list[str]:
    """What every distribution states alike (nothing when one is silent or they differ)."""
    first = per_distribution[0] if per_distribution else []
    return first if first and all(set(values) == set(first) for values in per_distribution) else []


def eu_access_type(node: Node, distributions: list[Node]) -> str | None:
    """The udata access type of an EU access right (PUBLIC, RESTRICTED, NON_PUBLIC) of the dataset, else of
    all its distributions alike."""
    def of(target: Node) -> set[str]:
        found = set()
        for value in target.values(DCT + "accessRights", DCAT + "accessRights"):
            uri = (value.get("@id") or value.get("@value") or "").strip().replace("https://", "http://", 1)
            if uri.startswith(EU_ACCESS_RIGHT) and (kind := EU_ACCESS_TYPES.get(uri.removeprefix(EU_ACCESS_RIGHT))):
                found.add(kind)
        return found

    kinds = of(node) or set(common([sorted(of(distribution)) for distribution in distributions]))
    return "restricted" if "restricted" in kinds else ("open" if kinds else None)


def access_rights(node: Node, distributions: list[Node], context: Context) -> list[str]:
    """The dataset's access rights, else those all its distributions share."""
    own = context.readable(node, DCT + "accessRights")
    return own or common([distribution_access_rights(distribution, context) for distribution in distributions])


def distribution_access_rights(node: Node, context: Context) -> list[str]:
    """`dct:accessRights`, and the misspelt `dcat:accessRights` found in some catalogs."""
    return [*context.readable(node, DCT + "accessRights"), *context.readable(node, DCAT + "accessRights")]


# --- resources --------------------------------------------------------------------------------------


def map_distribution(node: Node, context: Context) -> Resource | None:
    """A resource from a distribution; None (with a warning) when it has no URL."""
    url = node.link(DCAT + "downloadURL") or node.link(DCAT + "accessURL")
    if not url:
        context.warnings.append(f"Distribution {distribution_name(node, context.language)} skipped: it has no URL")
        return None
    services = node.nodes(DCAT + "accessService")
    return resource(node, url, "api" if services else "main", context, services)


def map_document(node: Node, context: Context, kind: ResourceKind = "other") -> Resource | None:
    """A resource from a document the dataset links to (its URI is its URL): a `dct:hasPart` (`other`), the
    DCAT-US `describedBy` data dictionary (`documentation`); datasets are skipped."""
    if not node.uri or node.types() & DATASET_TYPES or not is_http_url(node.uri):
        return None
    return resource(node, node.uri, kind, context, [])


def distribution_name(node: Node, language: str) -> str:
    title = node.text(DCT + "title", language)
    return f"'{title}'" if title else (node.uri or "without title")


def resource(node: Node, url: str, kind: ResourceKind, context: Context, services: list[Node]) -> Resource:
    language = context.language
    fmt = resource_format(node, services, language)
    extras = {key: values for key, values in (
        ("accessRights", distribution_access_rights(node, context)),
        ("license", context.readable(node, DCT + "license")),
        ("rights", context.readable(node, DCT + "rights")),
    ) if values}
    return Resource(
        title=resource_title(node, url, fmt, context),
        url=url,
        description=html_to_markdown(node.text(DCT + "description", language)) or None,
        type=kind,
        format=fmt,
        mime=mime(node),
        filesize=filesize(node),
        checksum=checksum(node),
        extras={"dcat": extras} if extras else {},
        schema_=schema(node, language),
        harvest=ResourceHarvest(
            uri=node.uri,
            issued_at=context.date(node, DCT + "issued", "resource issue date"),
            modified_at=context.date(node, DCT + "modified", "resource modification date"),
        ),
    )


def merge_same_urls(resources: list[Resource]) -> list[Resource]:
    """One resource per downloaded URL: the first distribution naming it, completed by the values the others
    add. Service distributions (`api`) stay apart: the layers of one service share its endpoint URL."""
    merged: dict[str, Resource] = {}
    kept: list[Resource | str] = []
    for found in resources:
        if found.type == "api":
            kept.append(found)
        elif (first := merged.get(found.url)) is None:
            merged[found.url] = found
            kept.append(found.url)
        else:
            missing = {name: value for name, value in found if getattr(first, name) in (None, {}) and value}
            merged[found.url] = first.model_copy(update=missing)
    return [merged[item] if isinstance(item, str) else item for item in kept]


def resource_title(node: Node, url: str, fmt: str | None, context: Context) -> str:
    """`dct:title`, else the URL's file name, else a title in the portal's language: `Ressource csv`,
    `Ressource sans nom` (udata's words on a French portal)."""
    if title := node.text(DCT + "title", context.language):
        return title
    name = url_filename(url.split("?")[0].split("#")[0])
    if name and "." in name:
        return name
    return fallback_title(fmt, context.portal_language)


def resource_format(node: Node, services: list[Node], language: str) -> str | None:
    """For an access service's distribution its protocol first (`geodcatap:serviceProtocol`, `dct:conformsTo`:
    WMS, WFS...): the distribution's own, else its service's when the service speaks that one protocol only (a
    service offering WFS and WMS does not say which one a GTFS-Realtime feed it also serves uses); then
    `dct:format` (EU file type, IANA media type, label or `rdf:value`), else the media type."""
    if services and (protocol := next(iter(protocols(node)), None) or single_protocol(services)):
        return protocol
    for value in node.values(DCT + "format"):
        if found := format_of(value, node, language):
            return found
    return media_type_format(node)


def protocols(node: Node) -> list[str]:
    """The protocols a distribution or a service names (`geodcatap:serviceProtocol`, `dct:conformsTo`), once each."""
    found = (service_protocol(standard.get("@id") or standard.get("@value") or "")
             for standard in node.values(GEODCAT + "serviceProtocol", DCT + "conformsTo"))
    return list(dict.fromkeys(protocol for protocol in found if protocol))


def single_protocol(services: list[Node]) -> str | None:
    """The one protocol the services speak, if they speak exactly one."""
    found = {protocol for service in services for protocol in protocols(service)}
    return found.pop() if len(found) == 1 else None


def service_protocol(text: str) -> str | None:
    """`wms`, `wfs`... from a protocol or standard named by URI or code (the last segment of a URI)."""
    segment = text.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    match = re.search(PROTOCOL_PATTERN, segment)
    return match[1] if match else None


def format_of(value: Term, node: Node, language: str) -> str | None:
    """A format from a `dct:format` value: an EU file type or IANA URI, a node's label or `rdf:value` (a blank
    `dct:IMT`), or a literal (a media type is turned into its format)."""
    text = value.get("@value") or value.get("@id") or ""
    if "@id" in value:
        target = Node(node.graph, value["@id"])
        if target.uri and target.uri.startswith(EU_FILE_TYPE):
            return target.uri.removeprefix(EU_FILE_TYPE).strip("/").lower()
        if target.uri and target.uri.startswith(IANA_MEDIA_TYPES):
            return format_of_media_type(target.uri.removeprefix(IANA_MEDIA_TYPES[0]).removeprefix(IANA_MEDIA_TYPES[1]))
        text = (target.label(language) or target.text(RDF + "value", language)
                or (target.uri or "").rstrip("/").rsplit("/", 1)[-1])
    text = text.strip()
    for prefix in IANA_MEDIA_TYPES:
        text = text.removeprefix(prefix)
    return format_of_media_type(text) if "/" in text else (text.lower() or None)


def format_of_media_type(media_type: str | None) -> str | None:
    """`text/csv` -> `csv`, `application/vnd.ms-excel` -> `xls` (see FORMAT_BY_MEDIA_TYPE), else the subtype."""
    text = (media_type or "").split(";")[0].strip().strip("/").lower()
    if not text:
        return None
    return FORMAT_BY_MEDIA_TYPE.get(text) or text.rsplit("/", 1)[-1].removeprefix("x-").removeprefix("vnd.")


MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(\s*;.*)?")


def media_type_text(node: Node) -> str | None:
    """`dcat:mediaType`, else the media type of a `dct:IMT` format (its `rdf:value`), without the IANA prefix."""
    text = node.link(DCAT + "mediaType") or next(
        (found for imt in node.nodes(DCT + "format") if (found := imt.link(RDF + "value"))), "")
    for prefix in IANA_MEDIA_TYPES:
        text = (text or "").removeprefix(prefix)
    return text.strip("/").lower() or None


def mime(node: Node) -> str | None:
    """The media type (`type/subtype`): not a URL nor a bare format name some catalogs write there."""
    text = media_type_text(node)
    return text if text and MEDIA_TYPE.fullmatch(text) else None


def media_type_format(node: Node) -> str | None:
    """The format of the media type, or the bare format name written as one (`<dcat:mediaType>ZIP`)."""
    text = media_type_text(node)
    if text and re.fullmatch(r"[\w.+-]+", text):
        return text
    return format_of_media_type(mime(node))


def schema(node: Node, language: str) -> Schema | None:
    """The schema a distribution's `dct:conformsTo` names (a URL that is not a metadata profile), in udata's
    {name, url, version} shape."""
    for standard in node.nodes(DCT + "conformsTo"):
        url = standard.uri
        if not is_http_url(url) or url.startswith(PROFILE_PREFIXES):
            continue
        version = standard.text(OWL + "versionInfo", language) or standard.text(DCAT + "version", language)
        return Schema(name=standard.label(language), url=url, version=version)
    return None


def spatial_resolutions(node: Node) -> dict[str, list[str]]:
    """`dcat:spatialResolutionInMeters` and the GeoDCAT-AP `dqv` spatial resolution measurements, as written."""
    found: dict[str, list[str]] = {}
    for literal in node.literals(DCAT + "spatialResolutionInMeters"):
        found.setdefault("spatialResolutionInMeters", []).append(literal["@value"].strip())
    for measurement in node.nodes(DQV + "hasQualityMeasurement"):
        metric = (measurement.link(DQV + "isMeasurementOf") or "").rstrip("/").rsplit("/", 1)[-1]
        value = measurement.link(DQV + "value")
        if metric in SPATIAL_RESOLUTION_METRICS and value:
            found.setdefault(metric, []).append(value)
    return found


def filesize(node: Node) -> int | None:
    text = node.link(DCAT + "byteSize")
    try:
        size = int(float(text)) if text else None
    except ValueError:
        return None
    return size if size is not None and size >= 0 else None


def checksum(node: Node) -> Checksum | None:
    """An md5 / sha1 / sha256 `spdx:checksum`; any other algorithm, or none, is ignored."""
    for checksum_node in node.nodes(SPDX + "checksum"):
        found = normalize_checksum(checksum_node.link(SPDX + "algorithm"), checksum_node.link(SPDX + "checksumValue"))
        if found:
            return found
    return None


# --- data services ----------------------------------------------------------------------------------


def map_dataservice(record: dict[str, Any], language: str = "fr") -> Mapped:
    """Map a standalone `dcat:DataService`; `record["datasets"]` holds the remote ids it serves."""
    node = Node(record["graph"], record["@id"])
    context = Context(language=choose_language(node, language), portal_language=language)
    chosen = context.language
    title = node.text(DCT + "title", chosen)
    if not title:
        raise SkipRecord("missing title on data service")
    dataservice = Dataservice(
        title=title,
        description=html_to_markdown(node.text(DCT + "description", chosen)),
        base_api_url=node.link(DCAT + "endpointURL"),
        machine_documentation_url=node.link(DCAT + "endpointDescription"),
        tags=normalize_tags(keywords(node, chosen)),
        contact_points=contact_points(node, chosen, context.warnings),
        datasets=record.get("datasets", []),
    )
    return Mapped(dataservice=dataservice, remote=remote_metadata(node, context), warnings=context.warnings)
