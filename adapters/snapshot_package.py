"""Archive packages for the registrar: a BagIt bag (adapters/archive.py)
whose payload is laid out like an E-ARK / FGS information package:

    data/METS.xml                    package metadata (see below)
    data/metadata/package.json       the same metadata as JSON (domain.snapshot.PackageMetadata)
    data/metadata/...                account events (JSON lines), register entry, ...
    data/content/...                 the records themselves (snapshot page, PDF, PNG, capture,
                                     screenshots; or the records export's tables)

METS.xml follows the shapes of FGS Paketstruktur (Riksarkivet's "CSPackageMETS"
profile) and E-ARK CSIP as far as docs/decisions.md says: a METS 1.12 root
with OBJID, TYPE and LABEL; a metsHdr with agents ARCHIVIST (the
municipality, the archival creator's organisation), CREATOR (the unit),
OTHER/PRODUCER, OTHER/SUBMITTER and the creating SOFTWARE; altRecordIDs for
the delivery type, the start and end dates, the record class and the
diarium number; a fileSec listing every payload file with its MIME type, size
and SHA-256 checksum; and a structMap. R-38: every METS.xml we write is valid
against the official METS 1.12.1 XML Schema (tests/integration/test_mets_schema.py,
offline); the FGS extension attributes (ext:) are ones METS admits
(anyAttribute, lax) but are not checked against Riksarkivet's extension schema,
which is not available offline. No PREMIS or EAD.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from adapters.archive import BagFile
from domain.snapshot import PackageFile, PackageMetadata

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
EXT_NS = "ExtensionMETS"
FGS_PROFILE = "http://xml.ra.se/e-arkiv/METS/CommonSpecificationSwedenPackageProfile.xml"

ET.register_namespace("mets", METS_NS)
ET.register_namespace("xlink", XLINK_NS)
ET.register_namespace("ext", EXT_NS)
ET.register_namespace("xsi", XSI_NS)
# Where a validator finds the schemas METS.xml is written to (as E-ARK CSIP's
# and FGS's examples say it): METS 1.12.x and the METS board's XLink schema.
# Not the FGS extension schema: ext: attributes are only admitted, not checked.
SCHEMA_LOCATION = (f"{METS_NS} http://www.loc.gov/standards/mets/mets.xsd "
                   f"{XLINK_NS} http://www.loc.gov/standards/xlink/xlink.xsd")
# Characters XML 1.0 cannot carry (C0 controls but tab/newline/return, lone
# surrogates, U+FFFE/FFFF). A name from a platform's profile may hold one;
# ElementTree would write it as is and METS.xml would not parse. package.json
# keeps the original.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_MIME = {".jsonl": "application/x-ndjson", ".json": "application/json", ".html": "text/html",
         ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".webp": "image/webp", ".xml": "application/xml",
         ".csv": "text/csv"}


def mime_type(path: str) -> str:
    for suffix, kind in _MIME.items():
        if path.lower().endswith(suffix):
            return kind
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True,
                      default=str).encode() + b"\n"


def json_lines(rows: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str).encode()
                    + b"\n" for r in rows)


def describe(files: Sequence[BagFile]) -> tuple[PackageFile, ...]:
    return tuple(PackageFile(path=f.path, mime_type=mime_type(f.path), size=len(f.content),
                             sha256=hashlib.sha256(f.content).hexdigest())
                 for f in sorted(files, key=lambda f: f.path))


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def xml_text(value: str) -> str:
    """`value` with each character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", value)


def mets_xml(meta: PackageMetadata) -> bytes:
    """METS.xml for a package whose payload files are `meta.files`: valid
    against the METS 1.12.1 schema (R-38; the element order, the required
    attributes and the ID/IDREF links are METS's)."""
    root = ET.Element(_m("mets"), {
        f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION,
        "OBJID": meta.package_id,
        "TYPE": meta.content(),
        "LABEL": meta.content() + (f": {meta.account_name}" if meta.account_name else ""),
        "PROFILE": FGS_PROFILE,
        f"{{{EXT_NS}}}CONTENTTYPESPECIFICATION": meta.kind.value,
    })
    header = ET.SubElement(root, _m("metsHdr"), {
        "CREATEDATE": meta.created_at.isoformat(), "RECORDSTATUS": "NEW",
        f"{{{EXT_NS}}}OAISTYPE": "SIP",
    })

    def agent(role: str, kind: str, name: str, note: str | None = None, *,
              other_role: str | None = None, other_type: str | None = None) -> None:
        attributes = {"ROLE": role, "TYPE": kind}
        if other_role:
            attributes["OTHERROLE"] = other_role
        if other_type:
            attributes["OTHERTYPE"] = other_type
        element = ET.SubElement(header, _m("agent"), attributes)
        ET.SubElement(element, _m("name")).text = name
        if note:
            ET.SubElement(element, _m("note")).text = note

    agent("ARCHIVIST", "ORGANIZATION", meta.producer, f"ID:{meta.producer_id}")
    agent("CREATOR", "ORGANIZATION", meta.archival_creator, f"ID:{meta.archival_creator_id}")
    agent("OTHER", "ORGANIZATION", meta.producer, other_role="PRODUCER")
    agent("OTHER", "ORGANIZATION", meta.submitter, other_role="SUBMITTER")
    agent("CREATOR", "OTHER", meta.system, other_type="SOFTWARE")
    ids = [("DELIVERYTYPE", meta.kind.value), ("STARTDATE", meta.start_date.isoformat()),
           ("ENDDATE", meta.end_date.isoformat()), ("RECORDCLASS", meta.record_class),
           ("SUBMISSIONAGREEMENT", "Kanalvakt"), ("PACKAGEID", meta.package_id)]
    if meta.diarium_number:
        ids.append(("REFERENCECODE", meta.diarium_number))
    if meta.account_id:
        ids.append(("ACCOUNT", f"{meta.platform}:{meta.handle or meta.account_id}"))
    for kind, value in ids:
        ET.SubElement(header, _m("altRecordID"), {"TYPE": kind}).text = value

    file_sec = ET.SubElement(root, _m("fileSec"))
    group = ET.SubElement(file_sec, _m("fileGrp"), {"ID": "content", "USE": "Content"})
    struct = ET.SubElement(root, _m("structMap"), {"TYPE": "physical", "LABEL": "No structmap"})
    package_div = ET.SubElement(struct, _m("div"), {"LABEL": meta.package_id})
    for index, f in enumerate(meta.files, start=1):
        file_id = f"ID{index:04d}"
        element = ET.SubElement(group, _m("file"), {
            "ID": file_id, "MIMETYPE": f.mime_type, "SIZE": str(f.size),
            "CREATED": meta.created_at.isoformat(), "CHECKSUM": f.sha256,
            "CHECKSUMTYPE": "SHA-256"})
        ET.SubElement(element, _m("FLocat"), {
            "LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
            f"{{{XLINK_NS}}}href": f"file:///{f.path}"})
        ET.SubElement(package_div, _m("fptr"), {"FILEID": file_id})
    for element in root.iter():
        if element.text:
            element.text = xml_text(element.text)
        for name, value in list(element.attrib.items()):
            element.set(name, xml_text(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def with_metadata(files: list[BagFile], meta: PackageMetadata) -> tuple[list[BagFile],
                                                                          PackageMetadata]:
    """The payload plus metadata/package.json and METS.xml, which list the
    other files with their checksums."""
    described = meta.model_copy(update={"files": describe(files)})
    package_json = BagFile(path="metadata/package.json",
                           content=json_bytes(described.model_dump(mode="json")))
    final = described.model_copy(update={"files": describe([*files, package_json])})
    return [*files, package_json, BagFile(path="METS.xml", content=mets_xml(final))], final


def bag_info(meta: PackageMetadata, contact: str | None = None) -> dict[str, str]:
    info = {
        "Source-Organization": meta.producer,
        "External-Identifier": meta.package_id,
        "External-Description": meta.content() + (
            f": {meta.account_name} ({meta.platform})" if meta.account_name else ""),
        "Bagging-Date": meta.created_at.date().isoformat(),
        "Bag-Group-Identifier": meta.archival_creator_id,
        "Kanalvakt-Package-Kind": meta.kind.value,
        "Kanalvakt-Record-Class": meta.record_class,
        "Kanalvakt-Period": f"{meta.start_date.isoformat()}/{meta.end_date.isoformat()}",
    }
    if meta.diarium_number:
        info["Kanalvakt-Diarium-Number"] = meta.diarium_number
    if contact:
        info["Contact-Email"] = contact
    return info
