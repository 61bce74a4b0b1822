"""A real pycsw 2.6 CSW 2.0.2 server for tests.

pycsw 2.6 needs SQLAlchemy < 2, so it lives in its own virtualenv
(`<repo>/.cache/venvs/pycsw`) and runs as a subprocess (`pycsw_app.py`).
This module itself only needs the stdlib, requests and (for
`split_iso_records`) lxml.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

import requests

from tests.servers.venvs import ensure_venv, tail, venv_python

APP = Path(__file__).with_name("pycsw_app.py")
GMD = "http://www.isotc211.org/2005/gmd"

# Known-good set for CPython 3.11 (pycsw 2.6.2 runs on SQLAlchemy 1.4: it uses
# sqlalchemy.orm.create_session, removed in 2.0). Everything is pinned.
PINS: tuple[str, ...] = (
    "pycsw==2.6.2",
    "SQLAlchemy==1.4.54",
    "greenlet==3.5.6",
    "lxml==5.3.0",
    "OWSLib==0.28.1",
    "pyproj==3.6.1",
    "Shapely==2.0.6",
    "numpy==2.4.6",
    "geolinks==0.2.0",
    "xmltodict==0.13.0",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "PyYAML==6.0.4",
    "requests==2.34.2",
)


def ensure_pycsw_venv() -> Path:
    """The pycsw virtualenv, created once."""
    return ensure_venv("pycsw", PINS, check="pycsw")


#: An ISO record: gmd:MD_Metadata, ISO 19115-2 gmi:MI_Metadata, or a profile root declaring its ISO class
#: (geocat.ch's che:CHE_MD_Metadata gco:isoType="gmd:MD_Metadata").
ISO_RECORD_TEST = ("self::gmd:MD_Metadata or self::gmi:MI_Metadata or @gco:isoType='gmd:MD_Metadata'"
                   " or @gco:isoType='gmi:MI_Metadata'")
ISO_NAMESPACES = {"gmd": GMD, "gmi": "http://www.isotc211.org/2005/gmi", "gco": "http://www.isotc211.org/2005/gco"}


def split_iso_records(xml_bytes: bytes) -> list[bytes]:
    """Each outermost ISO record of a document (a GetRecords or GetRecordById answer, or a record itself),
    as a standalone document."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    root = etree.fromstring(xml_bytes, parser)
    found = root.xpath(f"//*[({ISO_RECORD_TEST}) and not(ancestor::*[{ISO_RECORD_TEST}])]", namespaces=ISO_NAMESPACES)
    return [etree.tostring(copy.deepcopy(el), xml_declaration=True, encoding="UTF-8") for el in found]


_THEMES = ("hydrographie", "occupation du sol", "transport", "altimétrie", "agriculture",
           "biodiversité", "urbanisme", "énergie", "risques naturels", "bâti")
_ISO_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco"
    xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink">
  <gmd:fileIdentifier><gco:CharacterString>{ident}</gco:CharacterString></gmd:fileIdentifier>
  <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/"
    codeListValue="fre">fre</gmd:LanguageCode></gmd:language>
  <gmd:characterSet><gmd:MD_CharacterSetCode
    codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#MD_CharacterSetCode"
    codeListValue="utf8">utf8</gmd:MD_CharacterSetCode></gmd:characterSet>
  <gmd:hierarchyLevel><gmd:MD_ScopeCode
    codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#MD_ScopeCode"
    codeListValue="dataset">dataset</gmd:MD_ScopeCode></gmd:hierarchyLevel>
  <gmd:contact><gmd:CI_ResponsibleParty>
    <gmd:organisationName><gco:CharacterString>{org}</gco:CharacterString></gmd:organisationName>
    <gmd:contactInfo><gmd:CI_Contact><gmd:address><gmd:CI_Address><gmd:electronicMailAddress
      ><gco:CharacterString>contact@example.org</gco:CharacterString></gmd:electronicMailAddress
    ></gmd:CI_Address></gmd:address></gmd:CI_Contact></gmd:contactInfo>
    <gmd:role><gmd:CI_RoleCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#CI_RoleCode"
      codeListValue="pointOfContact">pointOfContact</gmd:CI_RoleCode></gmd:role>
  </gmd:CI_ResponsibleParty></gmd:contact>
  <gmd:dateStamp><gco:DateTime>{modified}T10:00:00</gco:DateTime></gmd:dateStamp>
  <gmd:metadataStandardName><gco:CharacterString>ISO 19115:2003/19139</gco:CharacterString></gmd:metadataStandardName>
  <gmd:metadataStandardVersion><gco:CharacterString>1.0</gco:CharacterString></gmd:metadataStandardVersion>
  <gmd:identificationInfo><gmd:MD_DataIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title><gco:CharacterString>{title}</gco:CharacterString></gmd:title>
      <gmd:date><gmd:CI_Date><gmd:date><gco:Date>{created}</gco:Date></gmd:date>
        <gmd:dateType><gmd:CI_DateTypeCode
          codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#CI_DateTypeCode"
          codeListValue="creation">creation</gmd:CI_DateTypeCode></gmd:dateType></gmd:CI_Date></gmd:date>
      <gmd:date><gmd:CI_Date><gmd:date><gco:Date>{modified}</gco:Date></gmd:date>
        <gmd:dateType><gmd:CI_DateTypeCode
          codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#CI_DateTypeCode"
          codeListValue="revision">revision</gmd:CI_DateTypeCode></gmd:dateType></gmd:CI_Date></gmd:date>
    </gmd:CI_Citation></gmd:citation>
    <gmd:abstract><gco:CharacterString>{abstract}</gco:CharacterString></gmd:abstract>
    <gmd:descriptiveKeywords><gmd:MD_Keywords>
      <gmd:keyword><gco:CharacterString>{kw1}</gco:CharacterString></gmd:keyword>
      <gmd:keyword><gco:CharacterString>{kw2}</gco:CharacterString></gmd:keyword>
      <gmd:keyword><gco:CharacterString>données ouvertes</gco:CharacterString></gmd:keyword>
    </gmd:MD_Keywords></gmd:descriptiveKeywords>
    <gmd:resourceConstraints><gmd:MD_LegalConstraints><gmd:otherConstraints
      ><gco:CharacterString>Licence Ouverte / Open Licence version 2.0</gco:CharacterString></gmd:otherConstraints
    ></gmd:MD_LegalConstraints></gmd:resourceConstraints>
    <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/"
      codeListValue="fre">fre</gmd:LanguageCode></gmd:language>
    <gmd:topicCategory><gmd:MD_TopicCategoryCode>environment</gmd:MD_TopicCategoryCode></gmd:topicCategory>
    <gmd:extent><gmd:EX_Extent>
      <gmd:geographicElement><gmd:EX_GeographicBoundingBox>
        <gmd:westBoundLongitude><gco:Decimal>{west}</gco:Decimal></gmd:westBoundLongitude>
        <gmd:eastBoundLongitude><gco:Decimal>{east}</gco:Decimal></gmd:eastBoundLongitude>
        <gmd:southBoundLatitude><gco:Decimal>{south}</gco:Decimal></gmd:southBoundLatitude>
        <gmd:northBoundLatitude><gco:Decimal>{north}</gco:Decimal></gmd:northBoundLatitude>
      </gmd:EX_GeographicBoundingBox></gmd:geographicElement>
      <gmd:temporalElement><gmd:EX_TemporalExtent><gmd:extent><gml:TimePeriod gml:id="tp-{i}">
        <gml:beginPosition>{created}</gml:beginPosition><gml:endPosition>{modified}</gml:endPosition>
      </gml:TimePeriod></gmd:extent></gmd:EX_TemporalExtent></gmd:temporalElement>
    </gmd:EX_Extent></gmd:extent>
  </gmd:MD_DataIdentification></gmd:identificationInfo>
  <gmd:distributionInfo><gmd:MD_Distribution>
    <gmd:distributionFormat><gmd:MD_Format><gmd:name><gco:CharacterString>GeoJSON</gco:CharacterString></gmd:name><gmd:version><gco:CharacterString>1.0</gco:CharacterString></gmd:version></gmd:MD_Format></gmd:distributionFormat>
    <gmd:transferOptions><gmd:MD_DigitalTransferOptions><gmd:onLine><gmd:CI_OnlineResource>
      <gmd:linkage><gmd:URL>https://data.example.org/datasets/{ident}.geojson</gmd:URL></gmd:linkage>
      <gmd:protocol><gco:CharacterString>WWW:DOWNLOAD-1.0-http--download</gco:CharacterString></gmd:protocol>
      <gmd:name><gco:CharacterString>{title} (GeoJSON)</gco:CharacterString></gmd:name>
      <gmd:description><gco:CharacterString>Téléchargement direct</gco:CharacterString></gmd:description>
    </gmd:CI_OnlineResource></gmd:onLine></gmd:MD_DigitalTransferOptions></gmd:transferOptions>
  </gmd:MD_Distribution></gmd:distributionInfo>
</gmd:MD_Metadata>
"""


def generate_iso_records(n: int) -> list[bytes]:
    """n deterministic, realistic ISO 19139 records with unique fileIdentifiers (synthetic-NNNNN)."""
    records = []
    for i in range(n):
        theme, other = _THEMES[i % len(_THEMES)], _THEMES[(i * 7 + 3) % len(_THEMES)]
        west, south = -5.0 + (i % 90) * 0.1, 42.0 + (i % 80) * 0.1
        created = date(2015, 1, 1) + timedelta(days=i * 3)
        fields = {
            "i": i, "ident": f"synthetic-{i:05d}", "org": f"Service producteur n°{i % 13}",
            "title": escape(f"Jeu synthétique {i:05d} — {theme} & {other}"),
            "abstract": escape(f"Données de test n°{i} sur le thème « {theme} » (<200 m>)."),
            "kw1": escape(theme), "kw2": escape(other),
            "west": f"{west:.4f}", "east": f"{west + 1.5:.4f}",
            "south": f"{south:.4f}", "north": f"{south + 1.0:.4f}",
            "created": created.isoformat(), "modified": (created + timedelta(days=400)).isoformat(),
        }
        records.append(_ISO_TEMPLATE.format(**fields).encode("utf-8"))
    return records


# No gzip_compresslevel: pycsw 2.6's wsgi.py then sends the uncompressed Content-Length
# with a gzipped body, and clients hang or fail.
_CONFIG_TEMPLATE = """[server]
home={home}
url={url}
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=en-US
maxrecords=100
loglevel=WARNING
logfile={home}/pycsw.log
pretty_print=true
profiles=apiso

[manager]
transactions=false
allowed_ips=127.0.0.1

[metadata:main]
identification_title=pycsw test catalogue
identification_abstract=pycsw 2.6 loaded with ISO 19139 test records
identification_keywords=test,csw
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name=test
provider_url=http://127.0.0.1/
contact_name=test
contact_position=test
contact_address=none
contact_city=none
contact_stateorprovince=none
contact_postalcode=00000
contact_country=France
contact_phone=+33-0
contact_fax=+33-0
contact_email=test@example.org
contact_url=http://127.0.0.1/
contact_hours=0
contact_instructions=none
contact_role=pointOfContact

[repository]
database={database}
table=records

[metadata:inspire]
enabled=false
"""


class PycswServer:
    """pycsw serving `records` (ISO 19139 documents) at `.url` (http://127.0.0.1:PORT/csw)."""

    def __init__(self, records: Sequence[bytes], startup_timeout: float = 60.0,
                 load_timeout: float = 600.0) -> None:
        self.records = list(records)
        self.startup_timeout = startup_timeout
        self.load_timeout = load_timeout
        self.url = ""
        self.load_seconds = 0.0
        self.workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PycswServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Load the records into a fresh SQLite repository and start pycsw; wait until it answers."""
        python = str(venv_python(ensure_pycsw_venv()))
        self.workdir = work = Path(tempfile.mkdtemp(prefix="pycsw-"))
        try:
            self._start(python, work)
        except BaseException:
            self.stop()
            raise

    def _start(self, python: str, work: Path) -> None:
        rec_dir = work / "records"
        rec_dir.mkdir()
        for i, rec in enumerate(self.records):
            (rec_dir / f"{i:06d}.xml").write_bytes(rec)
        database = f"sqlite:///{work / 'records.db'}"
        started = time.monotonic()
        try:
            proc = subprocess.run([python, str(APP), "load", database, str(rec_dir)],
                                  capture_output=True, timeout=self.load_timeout, cwd=work)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"pycsw load timed out:\n{tail(exc.stderr or b'')}") from exc
        self.load_seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"pycsw load failed:\n{tail(proc.stderr)}")
        loaded = json.loads(proc.stdout.splitlines()[-1])["loaded"]
        if loaded != len(self.records):
            raise RuntimeError(f"pycsw loaded {loaded}/{len(self.records)} records:\n"
                               f"{tail(proc.stderr)}")

        port_file, log = work / "port", work / "server.log"
        config = work / "pycsw.cfg"
        with open(log, "wb") as out:
            self._proc = subprocess.Popen(
                [python, str(APP), "serve", str(config), "127.0.0.1", str(port_file)],
                stdout=out, stderr=subprocess.STDOUT, cwd=work)
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            self._check_alive(log, deadline)
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}/csw"
        config.write_text(_CONFIG_TEMPLATE.format(home=work, url=self.url, database=database))
        params = {"service": "CSW", "version": "2.0.2", "request": "GetCapabilities"}
        while True:
            self._check_alive(log, deadline)
            try:
                resp = requests.get(self.url, params=params, timeout=5)
                if resp.status_code == 200 and b"Capabilities" in resp.content:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)

    def _check_alive(self, log: Path, deadline: float) -> None:
        """Raise with the server's output tail if it died or the deadline passed."""
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(f"pycsw exited with {self._proc.returncode}:\n"
                               f"{tail(log.read_bytes())}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"pycsw not ready after {self.startup_timeout}s:\n"
                               f"{tail(log.read_bytes())}")

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
