"""CSW records asked as ISO 19139 (gmd:MD_Metadata), mapped natively with lxml XPath.

No stylesheet is fetched: identifier, title, abstract, keywords and INSPIRE themes, dates by
type, bounding boxes, temporal extent, responsible parties, maintenance frequency, use and access
constraints and online resources are read straight from the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlparse

from lxml import etree

from backends.base import Backend, Option, Record, SkipRecord
from backends.csw.client import PAGE_SIZE_OPTION, CswClient, check_record, invalid_record, position_id
from backends.dcat.mapping import inspire_limitation
from backends.dcat.vocabularies import (
    CONTACT_ROLES,
    HVD_TAG,
    INSPIRE_TAG,
    INSPIRE_THEME_SCHEME_TITLE,
    INSPIRE_THEMES,
    OGC_PROTOCOLS,
)
from backends.normalize import (
    bbox_to_polygon,
    clean_email,
    frequency_id,
    html_to_markdown,
    is_http_url,
    merge_polygons,
    normalize_tags,
    past_datetime,
    temporal_coverage,
    url_filename,
)
from harvesters.http import parse_xml
from harvesters.licenses import LicenseIndex
from harvesters.models import ContactPoint, Dataset, Mapped, RemoteMetadata, Resource, TemporalCoverage

GMD = "http://www.isotc211.org/2005/gmd"
NS = {
    "gmd": GMD,
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "xlink": "http://www.w3.org/1999/xlink",
}
RECORD_TYPES = ("dataset", "nonGeographicDataset", "series")
IDENTIFICATION = "gmd:identificationInfo/*"

#: EU high-value dataset categories, as data.europa.eu or publications.europa.eu URIs.
HVD_URI = re.compile(r"^https?://(data\.europa\.eu|publications\.europa\.eu/resource/authority)/bna/", re.IGNORECASE)

#: ISO MD_MaintenanceFrequencyCode values that are not udata frequency ids (or known spellings) already.
ISO_FREQUENCIES = {"continual": "continuous", "biannually": "semiannual", "annually": "annual", "asNeeded": "punctual"}
#: ISO CI_RoleCode values named differently in udata (the GeoDCAT-AP names); the others are kept as is.
ISO_ROLES = {"pointOfContact": "contact", "author": "creator", "owner": "rightsHolder"}
UDATA_ROLES = {role for _, role in CONTACT_ROLES}
DISTRIBUTION_FUNCTIONS = {"download", "offlineAccess", "order"}
#: Online resource protocols (lowercased, before any version suffix) that denote a service, by format.
SERVICE_PROTOCOLS = {
    **{f"ogc:{protocol}": protocol for protocol in OGC_PROTOCOLS},
    "ogc:ogc-api-features": "ogc-api-features", "ogc api features": "ogc-api-features",
    "esri:rest": "esri-rest", "esri rest": "esri-rest",
}


class CswIso19139Backend(Backend):
    name = "csw-iso-19139"
    display_name = "CSW-ISO-19139"
    features = (
        Option("protocol_downloads", "Downloads by protocol", bool,
               "Also take links whose protocol is WWW:DOWNLOAD-* as resources when they have no download function "
               "code (off by default, as the reference harvester: some catalogs tag metadata pages so too)",
               default=False),
    )
    extra_configs = (
        PAGE_SIZE_OPTION,
        Option("remote_url_prefix", "Remote URL prefix", str,
               "Prefix of a record's page (the record's fileIdentifier is appended), e.g. "
               "https://example.org/geonetwork/srv/fre/catalog.search#/metadata/"),
    )

    def gather(self) -> Iterator[Record]:
        client = CswClient(self.http, self.url, GMD, self.extra("page_size"), RECORD_TYPES)
        for position, element in client.records():
            yield self.record(position, element)

    def record(self, position: int, element: etree._Element) -> Record:
        if element.tag != f"{{{GMD}}}MD_Metadata":
            name = etree.QName(element)
            return invalid_record(position_id(position),
                                  f"CSW record {position} is not ISO 19139 but {{{name.namespace}}}{name.localname}")
        identifier = file_identifier(element)
        return Record(
            remote_id=identifier or "",
            remote_url=self.remote_url(identifier) if identifier else None,
            data={"xml": etree.tostring(element, encoding="unicode")},
            skip_reason=None if identifier else "missing identifier",
        )

    def remote_url(self, identifier: str) -> str:
        """The record's page (`remote_url_prefix`), else its GetRecordById URL on this CSW."""
        if prefix := self.extra("remote_url_prefix"):
            return prefix + identifier
        query = urlencode({"service": "CSW", "version": "2.0.2", "request": "GetRecordById", "id": identifier,
                           "outputSchema": GMD, "elementSetName": "full"})
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

    def map(self, record: Record) -> Mapped:
        check_record(record)
        metadata = parse_xml(record.data["xml"].encode(), f"record {record.remote_id}")
        return map_metadata(metadata, self.context.licenses, self.feature("protocol_downloads"))


# --- reading ---------------------------------------------------------------------------------------


@cache
def xpath(path: str) -> etree.XPath:
    """`path` compiled once (the mapping evaluates the same few paths on every record)."""
    return etree.XPath(path, namespaces=NS)


def select(node: etree._Element, path: str) -> list[Any]:
    return xpath(path)(node)


def string(node: etree._Element | None) -> str | None:
    """The text of a CharacterString-like property (gco:CharacterString, gmx:Anchor, a localised string)."""
    if node is None:
        return None
    for child in select(node, "gco:CharacterString | gmx:Anchor | gmx:FileName | gmx:MimeFileType | gco:Decimal"
                              " | gmd:PT_FreeText//gmd:LocalisedCharacterString"):
        if child.text and child.text.strip():
            return child.text.strip()
    return None


def first_string(node: etree._Element, path: str) -> str | None:
    return next((text for found in select(node, path) if (text := string(found))), None)


def strings(node: etree._Element, path: str) -> list[str]:
    return [text for found in select(node, path) if (text := string(found))]


def code(node: etree._Element, path: str) -> str | None:
    """A code list value (its codeListValue attribute, else its text)."""
    for found in select(node, path):
        value = found.get("codeListValue") or (found.text or "").strip()
        if value:
            return value
    return None


def file_identifier(metadata: etree._Element) -> str | None:
    return first_string(metadata, "gmd:fileIdentifier")


# --- mapping ---------------------------------------------------------------------------------------


def map_metadata(metadata: etree._Element, licenses: LicenseIndex | None = None,
                 protocol_downloads: bool = False) -> Mapped:
    """Map one gmd:MD_Metadata to a dataset (pure: no network)."""
    identification = next(iter(select(metadata, IDENTIFICATION)), None)
    if identification is None:
        raise SkipRecord("no identification info in record")
    title = first_string(identification, "gmd:citation/*/gmd:title")
    if not title:
        raise SkipRecord("missing title on dataset")
    warnings: list[str] = []
    dates = {kind: date for kind, date in citation_dates(identification, warnings)}
    restricted = inspire_limitation(constraint_values(identification, "accessConstraints"))
    dataset = Dataset(
        title=title,
        description=html_to_markdown(first_string(identification, "gmd:abstract")),
        tags=tags(identification),
        license=None if restricted else guess_license(identification, licenses),
        frequency=frequency(identification),
        temporal_coverage=temporal(identification),
        spatial=merge_polygons(bounding_boxes(identification)),
        contact_points=contacts(identification),
        resources=resources(metadata, warnings, protocol_downloads),
        access_type="restricted" if restricted else None,
        access_type_reason_category=restricted,
        extras=iso_extras(metadata, identification),
    )
    remote = RemoteMetadata(
        dct_identifier=resource_identifier(identification) or file_identifier(metadata),
        created_at=dates.get("creation"),
        issued_at=dates.get("publication"),
        modified_at=dates.get("revision"),
    )
    return Mapped(dataset=dataset, remote=remote, warnings=warnings)


def resource_identifier(identification: etree._Element) -> str | None:
    """The citation's identifier: codeSpace and code joined (as GeoDCAT-AP does), or the code alone."""
    for identifier in select(identification, "gmd:citation/*/gmd:identifier/*"):
        value = first_string(identifier, "gmd:code")
        if not value:
            continue
        space = first_string(identifier, "gmd:codeSpace")
        return f"{space.rstrip('/')}/{value}" if space and not value.startswith(space) else value
    return None


def citation_dates(identification: etree._Element, warnings: list[str]) -> Iterator[tuple[str, datetime]]:
    """(type, date) for each citation date whose type is creation, publication or revision."""
    for date in select(identification, "gmd:citation/*/gmd:date/gmd:CI_Date"):
        kind = code(date, "gmd:dateType/gmd:CI_DateTypeCode")
        value = next((node.text for node in select(date, "gmd:date/*") if node.text), None)
        if kind not in ("creation", "publication", "revision"):
            continue
        parsed, warning = past_datetime(value, f"{kind} date")
        if warning:
            warnings.append(warning)
        if parsed:
            yield kind, parsed


def tags(identification: etree._Element) -> list[str]:
    """Every keyword, plus `inspire` for INSPIRE themes and `hvd` for EU high-value dataset categories."""
    values: list[str] = []
    for keywords in select(identification, "gmd:descriptiveKeywords/gmd:MD_Keywords"):
        thesaurus = (first_string(keywords, "gmd:thesaurusName/*/gmd:title") or "").strip().lower()
        hrefs = select(keywords, "gmd:keyword/gmx:Anchor/@xlink:href")
        words = strings(keywords, "gmd:keyword")
        values += words
        if words and (thesaurus == INSPIRE_THEME_SCHEME_TITLE.lower()
                      or any(href.replace("https://", "http://", 1).startswith(INSPIRE_THEMES) for href in hrefs)):
            values.append(INSPIRE_TAG)
        if any(HVD_URI.match(href) for href in hrefs):
            values.append(HVD_TAG)
    return normalize_tags(values)


def frequency(identification: etree._Element) -> str | None:
    value = code(identification, "gmd:resourceMaintenance/*/gmd:maintenanceAndUpdateFrequency/*")
    return ISO_FREQUENCIES.get(value or "") or frequency_id(value)


def temporal(identification: etree._Element) -> TemporalCoverage | None:
    """The first temporal extent: a gml TimePeriod (open ends allowed) or a TimeInstant, any GML version."""
    for extent in select(identification, "gmd:extent/*/gmd:temporalElement/*/gmd:extent"):
        instant = gml_position(extent, "timePosition")
        found = temporal_coverage(gml_position(extent, "beginPosition", "begin") or instant,
                                  gml_position(extent, "endPosition", "end") or instant)
        if found:
            return found
    return None


def gml_position(extent: etree._Element, *names: str) -> str | None:
    """The first text of an element named one of `names`, whatever its GML namespace (gml or gml/3.2)."""
    test = " or ".join(f"local-name()='{name}'" for name in names)
    return next((node.text.strip() for node in select(extent, f".//*[{test}]") if node.text), None)


def bounding_boxes(identification: etree._Element) -> list[dict[str, Any] | None]:
    """Each geographic bounding box as a GeoJSON polygon (None for one that is not four numbers)."""
    boxes = []
    for box in select(identification, "gmd:extent/*/gmd:geographicElement/gmd:EX_GeographicBoundingBox"):
        sides = [first_string(box, f"gmd:{side}") or "" for side in
                 ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")]
        boxes.append(bbox_to_polygon(",".join(sides)))
    return boxes


def contacts(identification: etree._Element) -> list[ContactPoint]:
    """The resource's responsible parties (points of contact and cited parties), each once per role."""
    found: list[ContactPoint] = []
    for party in select(identification, "gmd:pointOfContact/gmd:CI_ResponsibleParty"
                        " | gmd:citation/*/gmd:citedResponsibleParty/gmd:CI_ResponsibleParty"):
        contact = responsible_party(party)
        if contact and contact not in found:
            found.append(contact)
    return found


def responsible_party(party: etree._Element) -> ContactPoint | None:
    person = first_string(party, "gmd:individualName")
    organization = first_string(party, "gmd:organisationName")
    name = f"{person} ({organization})" if person and organization else person or organization
    email = clean_email(first_string(party, "gmd:contactInfo/*/gmd:address/*/gmd:electronicMailAddress"))
    links = select(party, "gmd:contactInfo/*/gmd:onlineResource/*/gmd:linkage/gmd:URL/text()")
    form = next((url.strip() for url in links if is_http_url(url)), None)
    if not (name or email or form):
        return None
    role = code(party, "gmd:role/gmd:CI_RoleCode") or "pointOfContact"
    role = ISO_ROLES.get(role, role)
    return ContactPoint(name=name, email=email, contact_form=form, role=role if role in UDATA_ROLES else "contact")


# --- constraints -----------------------------------------------------------------------------------


def constraint_values(identification: etree._Element, kind: str) -> list[str]:
    """Texts and link targets of the legal constraints that hold `kind` (accessConstraints, useConstraints)."""
    values: list[str] = []
    for constraints in select(identification, f"gmd:resourceConstraints/*[gmd:{kind}]"):
        values += select(constraints, "gmd:otherConstraints/gmx:Anchor/@xlink:href")
        values += strings(constraints, "gmd:otherConstraints")
    return values


def iso_extras(metadata: etree._Element, identification: etree._Element) -> dict[str, Any]:
    """The constraints and lineage as written, under `iso` (kept even when no license or access type is found)."""
    found = {
        "access_constraints": constraint_values(identification, "accessConstraints"),
        "use_constraints": constraint_values(identification, "useConstraints"),
        "use_limitations": strings(identification, "gmd:resourceConstraints/*/gmd:useLimitation"),
        "lineage": first_string(metadata, "gmd:dataQualityInfo/*/gmd:lineage/*/gmd:statement"),
    }
    kept = {key: value for key, value in found.items() if value}
    return {"iso": kept} if kept else {}


def guess_license(identification: etree._Element, licenses: LicenseIndex | None) -> str | None:
    """The portal license the use constraints and limitations name (links first, then texts)."""
    if licenses is None:
        return None
    hrefs = select(identification, "gmd:resourceConstraints/*/*/gmx:Anchor/@xlink:href")
    texts = strings(identification, "gmd:resourceConstraints/*/gmd:otherConstraints"
                                    " | gmd:resourceConstraints/*/gmd:useLimitation")
    return licenses.guess(*hrefs, *texts)


# --- online resources ------------------------------------------------------------------------------


def resources(metadata: etree._Element, warnings: list[str], protocol_downloads: bool = False) -> list[Resource]:
    """Distributions among the online resources, each once: services (as `api`) and links whose function is
    download, offline access or order (or, with `protocol_downloads`, whose protocol is WWW:DOWNLOAD-*).

    Like the GeoDCAT-AP mapping the reference harvester uses, other links (documentation, metadata pages,
    untyped links) are not distributions."""
    found: list[Resource] = []
    for online in select(metadata, "gmd:distributionInfo//gmd:onLine/gmd:CI_OnlineResource"):
        resource = online_resource(online, warnings, protocol_downloads)
        if resource and not any((r.url, r.title) == (resource.url, resource.title) for r in found):
            found.append(resource)
    return found


def online_resource(online: etree._Element, warnings: list[str], protocol_downloads: bool) -> Resource | None:
    url = "".join(select(online, "gmd:linkage/gmd:URL/text()")).strip()
    protocol = first_string(online, "gmd:protocol") or ""
    function = code(online, "gmd:function/gmd:CI_OnLineFunctionCode")
    service = service_format(protocol, url)
    download = function in DISTRIBUTION_FUNCTIONS or (
        protocol_downloads and protocol.upper().startswith("WWW:DOWNLOAD"))
    if not service and not download:
        return None
    if not is_http_url(url) and urlparse(url).scheme != "ftp":
        warnings.append(f"Online resource without a valid URL skipped: '{url}'")
        return None
    fmt = service or file_extension(url)
    name, description = first_string(online, "gmd:name"), first_string(online, "gmd:description")
    title = name or description or url_filename(url) or (f"{fmt.upper()} resource" if fmt else "Nameless resource")
    return Resource(
        title=title,
        url=url,
        description=description if description != title else None,
        type="api" if service else "main",
        format=fmt,
        mime=protocol if re.fullmatch(r"[\w.+-]+/[\w.+-]+", protocol) else None,
    )


def service_format(protocol: str, url: str) -> str | None:
    """The service an online resource points to: from its protocol, else a GetCapabilities URL's SERVICE."""
    key = protocol.strip().lower()
    for prefix, fmt in SERVICE_PROTOCOLS.items():
        if key == prefix or key.startswith(prefix + "-") or key.startswith(prefix + " "):
            return fmt
    query = urlparse(url).query.lower()
    if "request=getcapabilities" in query:
        service = re.search(r"(?:^|&)service=([a-z]+)", query)
        return service[1] if service else "ogc"
    return None


def file_extension(url: str) -> str | None:
    name = url_filename(url) or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return extension if re.fullmatch(r"[a-z0-9]{2,5}", extension) else None
