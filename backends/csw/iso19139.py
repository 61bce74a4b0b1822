"""CSW records asked as ISO 19139, mapped natively with lxml XPath.

A record is a gmd:MD_Metadata, an ISO 19115-2 gmi:MI_Metadata, or a national profile's root that
declares `gco:isoType="gmd:MD_Metadata"` (geocat.ch's che:CHE_MD_Metadata); profile elements are
read wherever they stand for their ISO class. No stylesheet is fetched: identifier, title,
abstract, keywords and INSPIRE themes, dates by type, bounding boxes, temporal extent, responsible
parties, maintenance frequency, use and access constraints and online resources are read straight
from the record. A service record (srv:SV_ServiceIdentification) becomes a data service, as the
SEMIC ISO 19139 to GeoDCAT-AP mapping does: its endpoint, its capabilities document and the
datasets it operates on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from lxml import etree

from backends.base import (
    Backend,
    ContactPoint,
    Dataservice,
    Dataset,
    LicenseIndex,
    Mapped,
    Option,
    Record,
    RemoteMetadata,
    Resource,
    SkipRecord,
    TemporalCoverage,
    license_extras,
    parse_xml,
)
from backends.csw.client import PAGE_SIZE_OPTION, CswClient, position_id
from backends.normalize import (
    bbox_to_polygon,
    file_extension,
    frequency_id,
    html_to_markdown,
    is_http_url,
    make_contact,
    merge_polygons,
    normalize_tags,
    past_datetime,
    temporal_coverage,
    url_filename,
)
from backends.vocabularies import (
    HVD_TAG,
    HVD_URI,
    INSPIRE_TAG,
    OGC_PROTOCOLS,
    UDATA_CONTACT_ROLES,
    fallback_title,
    inspire_limitation,
    is_inspire_theme_uri,
    is_inspire_themes_title,
)

GMD = "http://www.isotc211.org/2005/gmd"
GMI = "http://www.isotc211.org/2005/gmi"
GCO = "http://www.isotc211.org/2005/gco"
NS = {
    "gmd": GMD,
    "gco": GCO,
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "xlink": "http://www.w3.org/1999/xlink",
}
RECORD_TYPES = ("dataset", "nonGeographicDataset", "series", "service")
IDENTIFICATION = "gmd:identificationInfo/*"
#: The ISO classes a record's root may be (a profile's root names one of them in gco:isoType).
METADATA_CLASSES = frozenset({"MD_Metadata", "MI_Metadata"})
SERVICE_IDENTIFICATION = "SV_ServiceIdentification"
RESOURCE_PARTIES = "gmd:pointOfContact/* | gmd:citation/*/gmd:citedResponsibleParty/*"
METADATA_CONTACT = "gmd:contact/*"
#: A linkage's URL: gmd:URL, or the localised URLs of a profile (geocat.ch's che:PT_FreeURL).
LINKAGE_URL = "gmd:linkage/gmd:URL/text() | gmd:linkage/*//*[local-name()='LocalisedURL']/text()"

#: What separates several keywords written in one gmd:keyword (lists, GCMD hierarchy levels); not a comma,
#: which INSPIRE theme labels hold ("Zones de gestion, de restriction ou de réglementation...").
KEYWORD_SEPARATORS = re.compile(r"\s*[;>]\s*")
#: ISO MD_MaintenanceFrequencyCode values that are not udata frequency ids (or known spellings) already.
ISO_FREQUENCIES = {"continual": "continuous", "biannually": "semiannual", "annually": "annual", "asNeeded": "punctual"}
#: ISO CI_RoleCode values named differently in udata (the GeoDCAT-AP names); the others are kept as is.
ISO_ROLES = {"pointOfContact": "contact", "author": "creator", "owner": "rightsHolder"}
DISTRIBUTION_FUNCTIONS = {"download", "offlineAccess", "order"}
#: Online resource protocols (lowercased, before any version suffix) that denote a service, by format.
SERVICE_PROTOCOLS = {
    **{f"ogc:{protocol}": protocol for protocol in OGC_PROTOCOLS},
    "ogc:ogc-api-features": "ogc-api-features", "ogc api features": "ogc-api-features",
    "esri:rest": "esri-rest", "esri rest": "esri-rest",
    "opendap:opendap": "opendap", "opendap": "opendap",
}
#: Extensions of the data files a link without a function code is taken as a download for.
DATA_FILE_EXTENSIONS = frozenset({
    "zip", "gz", "tgz", "7z", "csv", "tsv", "xls", "xlsx", "ods", "json", "geojson", "gpkg", "shp", "kml", "kmz",
    "gml", "tif", "tiff", "jp2", "nc", "hdf", "h5", "las", "laz", "parquet", "dbf",
})


#: Format names of exports (GeoServer's `outputFormat`, GeoNode's link names) that are a data file's extension.
DATA_FORMAT_ALIASES = {"excel": "xls", "excel2007": "xlsx", "shape-zip": "zip", "gml2": "gml", "gml3": "gml"}


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
        Option("language", "Portal language", str,
               "Language of the titles given to nameless resources (fr: `Ressource wms`, `Ressource sans nom`)",
               default="fr"),
    )

    def gather(self) -> Iterator[Record]:
        client = CswClient(self.http, self.url, GMD, self.extra("page_size"), RECORD_TYPES, self.context.announce)
        for position, element in client.records():
            yield self.record(position, element)

    def record(self, position: int, element: etree._Element) -> Record:
        """One record to map, or one failed (not ISO) or skipped (no fileIdentifier) with a readable id."""
        identifier = file_identifier(element)
        if not is_metadata(element):
            name = etree.QName(element)
            return Record(remote_id=identifier or position_id(position),
                          error=f"CSW record {position} is not ISO 19139 but {{{name.namespace}}}{name.localname}")
        return Record(
            remote_id=identifier or position_id(position),
            remote_url=self.remote_url(identifier) if identifier else None,
            data={"xml": etree.tostring(element, encoding="unicode")},
            kind="dataservice" if is_service(element) else "dataset",
            skip_reason=None if identifier else f"CSW record {position} has no fileIdentifier",
        )

    def remote_url(self, identifier: str) -> str:
        """The record's page (`remote_url_prefix`), else its GetRecordById URL on this CSW."""
        if prefix := self.extra("remote_url_prefix"):
            return prefix + identifier
        query = urlencode({"service": "CSW", "version": "2.0.2", "request": "GetRecordById", "id": identifier,
                           "outputSchema": GMD, "elementSetName": "full"})
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

    def map(self, record: Record) -> Mapped:
        metadata = parse_xml(record.data["xml"].encode(), f"record {record.remote_id}")
        return map_metadata(metadata, self.context.licenses, self.feature("protocol_downloads"), self.extra("language"))


# --- reading ---------------------------------------------------------------------------------------


@cache
def xpath(path: str) -> etree.XPath:
    """`path` compiled once (the mapping evaluates the same few paths on every record)."""
    return etree.XPath(path, namespaces=NS)


def select(node: etree._Element, path: str) -> list[Any]:
    return xpath(path)(node)


def string(node: etree._Element | None) -> str | None:
    """The text of a CharacterString-like property (gco:CharacterString, gmx:Anchor, a localised string), or of
    the code list value some catalogs put there (Marine Institute Ireland's useLimitation "CC-By 4.0")."""
    if node is None:
        return None
    for child in select(node, "gco:CharacterString | gmx:Anchor | gmx:FileName | gmx:MimeFileType | gco:Decimal"
                              " | gco:LocalName | gmd:PT_FreeText//gmd:LocalisedCharacterString | *[@codeListValue]"):
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


def iso_class(element: etree._Element) -> str:
    """The ISO class an element stands for: the one its `gco:isoType` declares (a national profile's
    subclass, e.g. che:CHE_MD_Metadata), else its own local name."""
    declared = (element.get(f"{{{GCO}}}isoType") or "").strip()
    return declared.rpartition(":")[2] if declared else etree.QName(element).localname


def is_metadata(element: etree._Element) -> bool:
    """gmd:MD_Metadata, gmi:MI_Metadata (ISO 19115-2), or a profile root declaring one of them."""
    name = etree.QName(element)
    return iso_class(element) in METADATA_CLASSES and (
        name.namespace in (GMD, GMI) or element.get(f"{{{GCO}}}isoType") is not None)


def identification_of(metadata: etree._Element) -> etree._Element | None:
    """The record's first identification (what the record describes: data or a service)."""
    return next(iter(select(metadata, IDENTIFICATION)), None)


def is_service(metadata: etree._Element) -> bool:
    identification = identification_of(metadata)
    return identification is not None and iso_class(identification) == SERVICE_IDENTIFICATION


# --- mapping ---------------------------------------------------------------------------------------


def map_metadata(metadata: etree._Element, licenses: LicenseIndex | None = None,
                 protocol_downloads: bool = False, language: str = "fr") -> Mapped:
    """Map one ISO record to a dataset, or a service record to a data service (pure: no network)."""
    identification = identification_of(metadata)
    if identification is None:
        raise SkipRecord("no identification info in record")
    title = " ".join((first_string(identification, "gmd:citation/*/gmd:title") or "").split())
    if not title:
        raise SkipRecord(f"missing title on {'data service' if is_service(metadata) else 'dataset'}")
    warnings: list[str] = []
    dates = dict(citation_dates(identification, warnings))
    remote = RemoteMetadata(
        dct_identifier=resource_identifier(identification) or file_identifier(metadata),
        created_at=dates.get("creation"),
        issued_at=dates.get("publication"),
        modified_at=dates.get("revision"),
    )
    description = html_to_markdown(first_string(identification, "gmd:abstract"))
    extras = iso_extras(metadata, identification)
    if is_service(metadata):
        dataservice = map_service(metadata, identification, title, description, extras, warnings)
        return Mapped(dataservice=dataservice, remote=remote, warnings=warnings)
    restricted = inspire_limitation(constraint_values(identification, "accessConstraints"))
    license_id = None if restricted else guess_license(identification, licenses)
    if not restricted:
        extras |= license_extras(license_id, *license_texts(identification))
    dataset = Dataset(
        title=title,
        description=description,
        tags=tags(identification),
        license=license_id,
        frequency=frequency(identification),
        temporal_coverage=temporal(identification),
        spatial=merge_polygons(bounding_boxes(identification)),
        contact_points=contacts(metadata, identification, warnings),
        resources=resources(metadata, warnings, protocol_downloads, language),
        access_type="restricted" if restricted else None,
        access_type_reason_category=restricted,
        extras=extras,
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
    for date in select(identification, "gmd:citation/*/gmd:date/*"):
        kind = code(date, "gmd:dateType/*")
        value = next((node.text.strip() for node in select(date, "gmd:date/*") if node.text), None)
        if kind not in ("creation", "publication", "revision"):
            continue
        parsed, warning = past_datetime(expand_compact_date(value), f"{kind} date")
        if warning:
            warnings.append(warning)
        if parsed:
            yield kind, parsed


def expand_compact_date(value: str | None) -> str | None:
    """`20150501` / `201505` (FGDC-style dates some ISO records carry) as `2015-05-01` / `2015-05`, and
    `2009-00-00` (an unknown month and day) as `2009`."""
    if value and re.fullmatch(r"\d{6}|\d{8}", value):
        return "-".join(filter(None, (value[:4], value[4:6], value[6:])))
    return re.sub(r"(-00)+$", "", value) if value else value


def tags(identification: etree._Element) -> list[str]:
    """Every keyword, plus `inspire` for INSPIRE themes and `hvd` for EU high-value dataset categories.

    A keyword text holding a list (`a; b`) or a GCMD-style hierarchy (`EARTH SCIENCE > OCEANS`) gives one
    tag per part, as short tags rather than a slug cut at 96 characters."""
    values: list[str] = []
    for keywords in select(identification, "gmd:descriptiveKeywords/*"):
        thesaurus = (first_string(keywords, "gmd:thesaurusName/*/gmd:title") or "").strip().lower()
        hrefs = select(keywords, "gmd:keyword/gmx:Anchor/@xlink:href")
        words = [part for text in strings(keywords, "gmd:keyword") for part in KEYWORD_SEPARATORS.split(text)]
        values += words
        if words and (is_inspire_themes_title(thesaurus) or any(map(is_inspire_theme_uri, hrefs))):
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
    """Each geographic bounding box as a GeoJSON polygon (None for one that is not four numbers); the
    extent is `gmd:extent` of data, `srv:extent` of a service."""
    boxes = []
    for box in select(identification, "*[self::gmd:extent or self::srv:extent]/*/gmd:geographicElement"
                                      "/*[gmd:westBoundLongitude]"):
        sides = [first_string(box, f"gmd:{side}") or "" for side in
                 ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")]
        boxes.append(bbox_to_polygon(",".join(sides)))
    return boxes


def contacts(metadata: etree._Element, identification: etree._Element, warnings: list[str]) -> list[ContactPoint]:
    """The resource's responsible parties (points of contact and cited parties), each once per role; a
    record that names none gets the metadata's own contact (as ckanext-spatial does)."""
    return parties(identification, RESOURCE_PARTIES, warnings) or parties(metadata, METADATA_CONTACT, warnings)


def parties(node: etree._Element, path: str, warnings: list[str]) -> list[ContactPoint]:
    found: list[ContactPoint] = []
    for party in select(node, path):
        contact = responsible_party(party, warnings)
        if contact and contact not in found:
            found.append(contact)
    return found


def responsible_party(party: etree._Element, warnings: list[str]) -> ContactPoint | None:
    """A party as a contact point: `Person (Organisation)`, its email and web page, its role in udata's terms."""
    person = first_string(party, "gmd:individualName")
    organization = first_string(party, "gmd:organisationName")
    both = person and organization and person != organization
    name = f"{person} ({organization})" if both else person or organization
    email = first_string(party, "gmd:contactInfo/*/gmd:address/*/gmd:electronicMailAddress")
    links = [linkage(online) for online in select(party, "gmd:contactInfo/*/gmd:onlineResource/*")]
    form = next((url for url in links if is_http_url(url)), None)
    role = code(party, "gmd:role/*") or "pointOfContact"
    role = ISO_ROLES.get(role, role)
    return make_contact(name, email, form, role if role in UDATA_CONTACT_ROLES else "contact", warnings)


# --- data services ---------------------------------------------------------------------------------


def map_service(metadata: etree._Element, identification: etree._Element, title: str, description: str,
                extras: dict[str, Any], warnings: list[str]) -> Dataservice:
    """A service record as a data service (SEMIC's mapping): the endpoint is a connect point of its
    operations, else an online resource, without the query of a GetCapabilities request; that request is
    the endpoint description; the served datasets are the records its `srv:operatesOn` link to. Its
    keywords and responsible parties are kept as for a dataset."""
    links = [*service_links(identification, "srv:containsOperations/*/srv:connectPoint/*"),
             *service_links(metadata, "gmd:distributionInfo//gmd:onLine/*")]
    capabilities = next((url for url in links if is_capabilities(url)), None)
    endpoint = next((url for url in links if not is_capabilities(url)), None) or (
        capabilities.split("?", 1)[0] if capabilities else None)
    if not endpoint:
        raise SkipRecord("service record without an endpoint (no connect point nor online resource URL)")
    return Dataservice(
        title=title,
        description=description,
        base_api_url=endpoint,
        machine_documentation_url=capabilities,
        tags=tags(identification),
        contact_points=contacts(metadata, identification, warnings),
        datasets=operated_datasets(identification),
        extras=extras,
    )


def service_links(node: etree._Element, path: str) -> list[str]:
    return [url for online in select(node, path) if is_http_url(url := linkage(online))]


def is_capabilities(url: str) -> bool:
    return "request=getcapabilities" in urlparse(url).query.lower()


def operated_datasets(identification: etree._Element) -> list[str]:
    """The fileIdentifier of each coupled dataset: the `id` of its GetRecordById link, else its uuidref."""
    found: list[str] = []
    for coupled in select(identification, "srv:operatesOn"):
        href = coupled.get(f"{{{NS['xlink']}}}href") or coupled.get("href") or ""
        query = {key.lower(): value for key, value in parse_qsl(urlparse(href.strip()).query)}
        identifier = (query.get("id") or coupled.get("uuidref") or "").strip()
        if identifier and identifier not in found:
            found.append(identifier)
    return found


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


def license_texts(identification: etree._Element) -> list[str]:
    """What the use constraints and limitations say, links first, then texts (where a license is named)."""
    hrefs = select(identification, "gmd:resourceConstraints/*/*/gmx:Anchor/@xlink:href")
    texts = strings(identification, "gmd:resourceConstraints/*/gmd:otherConstraints"
                                    " | gmd:resourceConstraints/*/gmd:useLimitation")
    return [*hrefs, *texts]


def guess_license(identification: etree._Element, licenses: LicenseIndex | None) -> str | None:
    """The portal license the use constraints and limitations name."""
    return licenses.guess(*license_texts(identification)) if licenses is not None else None


# --- online resources ------------------------------------------------------------------------------


def resources(metadata: etree._Element, warnings: list[str], protocol_downloads: bool = False,
              language: str = "fr") -> list[Resource]:
    """Distributions among the online resources, each once: services (as `api`), links whose function is
    download, offline access or order (or, with `protocol_downloads`, whose protocol is WWW:DOWNLOAD-*), the
    connect points of the services a dataset record describes beside its data (THREDDS records list their
    OPeNDAP, WMS... endpoints so), and WWW:DOWNLOAD links without a function code that name a data file (a
    GeoNode `X.csv` export, a WFS `outputFormat=csv`): map images, thumbnails and legends are no data.

    Like the GeoDCAT-AP mapping the reference harvester uses, the other links (documentation, metadata pages,
    untyped links) are not distributions; but a record with no distribution so typed gets its untyped links
    to data files (`.zip`, `.csv`...), and else its other untyped transfer options (a DOI to "Download" from,
    a data download page) as resources of type `other`, rather than none (the reference harvester leaves it
    empty, ckanext-spatial takes every link); a link whose protocol says it is a page (WWW:LINK) or that is a
    site's home page is none even then.
    Links that are no http(s) or ftp URL (`s3://`...) are left out with one warning."""
    found = distributions(metadata, warnings, protocol_downloads, language, untyped_links=False)
    if found or not (found := distributions(metadata, [], protocol_downloads, language, untyped_links=True)):
        return found
    files = [resource for resource in found if resource.type != "other"]
    return files or found


def distributions(metadata: etree._Element, warnings: list[str], protocol_downloads: bool, language: str,
                  untyped_links: bool) -> list[Resource]:
    found: list[Resource] = []
    unreachable: list[str] = []
    candidates: list[tuple[etree._Element, str | None]] = [
        (online, None) for online in select(metadata, "gmd:distributionInfo//gmd:onLine/*")]
    for identification in select(metadata, IDENTIFICATION)[1:]:
        if iso_class(identification) == SERVICE_IDENTIFICATION:
            served = first_string(identification, "srv:serviceType") or ""
            candidates += [(point, served) for point in
                           select(identification, "srv:containsOperations/*/srv:connectPoint/*")]
    for online, service_type in candidates:
        resource = online_resource(online, unreachable, protocol_downloads, language, untyped_links, service_type)
        if resource and not any((r.url, r.title) == (resource.url, resource.title) for r in found):
            found.append(resource)
    if unreachable:
        example = next((url for url in unreachable if url), None)
        warnings.append(f"{len(unreachable)} online resource(s) without an http(s) or ftp URL skipped"
                        + (f", e.g. '{example}'" if example else ""))
    return found


def online_resource(online: etree._Element, unreachable: list[str], protocol_downloads: bool, language: str,
                    untyped_links: bool, service_type: str | None = None) -> Resource | None:
    """One online resource as a resource, if it is a distribution; `service_type` is set for a service's
    connect point (always an `api`), and a URL that cannot be linked is added to `unreachable`."""
    url = linkage(online)
    protocol = first_string(online, "gmd:protocol") or ""
    function = code(online, "gmd:function/*")
    name, description = first_string(online, "gmd:name"), first_string(online, "gmd:description")
    service = service_format(protocol, url) or next(filter(None, map(service_format, (service_type or "").split())),
                                                    None)
    is_api = service is not None or service_type is not None
    declared_download = protocol.upper().startswith("WWW:DOWNLOAD")
    data_file = None if function or not (declared_download or untyped_links) else data_format(url, name)
    download = function in DISTRIBUTION_FUNCTIONS or data_file is not None or (protocol_downloads and declared_download)
    page = untyped_links and not function and not download and not protocol.upper().startswith("WWW:LINK") and (
        urlparse(url).path.strip("/") != "")
    if not (is_api or download or page):
        return None
    if not is_http_url(url) and urlparse(url).scheme != "ftp":
        unreachable.append(url)
        return None
    fmt = service or data_file or (None if is_api else file_extension(url))
    title = (name if name and not is_http_url(name) else None) or description or url_filename(url) or (
        fallback_title(fmt, language))
    return Resource(
        title=title,
        url=url,
        description=description if description != title else None,
        type="api" if is_api else "other" if page else "main",
        format=fmt,
        mime=protocol if re.fullmatch(r"[\w.+-]+/[\w.+-]+", protocol) else None,
    )


def data_format(url: str, name: str | None) -> str | None:
    """The data file format a link names, by the extension of its name or of its URL's file, else by its
    `outputFormat` / `format` query parameter; None when that is no data format (a PNG legend, a PDF map)."""
    query = {key.lower(): value.strip().lower() for key, value in parse_qsl(urlparse(url).query)}
    named = ((file_extension(name) if name and " " not in name.strip() else None) or file_extension(url)
             or query.get("outputformat") or query.get("format"))
    fmt = DATA_FORMAT_ALIASES.get(named or "", named)
    return fmt if fmt in DATA_FILE_EXTENSIONS else None


def linkage(online: etree._Element) -> str:
    """The URL of an online resource: its gmd:URL, or the first localised URL of a profile's linkage."""
    return next((url.strip() for url in select(online, LINKAGE_URL) if url.strip()), "")


def service_format(protocol: str, url: str = "") -> str | None:
    """The service an online resource points to: from its protocol, else a GetCapabilities URL's SERVICE."""
    key = protocol.strip().lower()
    for prefix, fmt in SERVICE_PROTOCOLS.items():
        if key == prefix or key.startswith(prefix + "-") or key.startswith(prefix + " "):
            return fmt
    parts = urlparse(url)
    query = parts.query.lower()
    if "request=getcapabilities" in query:
        service = re.search(r"(?:^|&)service=([a-z]+)", query)
        named = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()  # `.../Protected_sites/wms?request=...`
        return service[1] if service else named if named in OGC_PROTOCOLS else "ogc"
    return None
