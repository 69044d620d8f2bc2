# ruff: noqa: F811  (the `s` fixture, imported from test_snapshot_workflow, is each test's argument)
"""R-38: every archive package's METS.xml (a snapshot, the closure's final
snapshot, a records export) is valid against the official METS 1.12.1 XML
Schema, checked offline with `xmlschema`.

The schema is `metsrw`'s copy of mets.xsd (a test dependency, read as a data
file). It imports the METS Board's XLink schema from loc.gov; this machine has
no network and the W3C XLink schema that `xmlschema` bundles lacks the
`xlink:simpleLink` group METS uses, so that one file is vendored in
tests/integration/schemas/ (see its README for origin and licence).
`allow="local"` forbids any remote fetch and `use_fallback=False` keeps a
missing file from being silently replaced by a bundled one.

What is checked: METS's own grammar (element order, required attributes,
enumerations such as ROLE, TYPE and CHECKSUMTYPE, xsd:dateTime, xsd:ID
uniqueness and that every IDREF such as fptr/@FILEID resolves). What is not:
the FGS extension attributes (ext:CONTENTTYPESPECIFICATION, ext:OAISTYPE),
which METS admits through anyAttribute processContents="lax"; Riksarkivet's
CSPackageExtensionMETS.xsd is not available offline, and the E-ARK CSIP
extension schema (csip:) does not apply, since we write none of its attributes.
"""

from __future__ import annotations

import functools
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
import xmlschema

from adapters.archive import BagFile
from adapters.snapshot_package import SCHEMA_LOCATION, with_metadata
from domain import account as acc
from domain import snapshot as snap
from readviews.records import RecordsExportInput, export_records
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from store.snapshots import store_upload
from tests.fakes.meta_graph import seed_page
from tests.support import EXEMPELBY, MANAGER, REQUESTER
from tests.workflows.test_snapshot_workflow import (  # noqa: F401  (s: the fixture)
    PAGE,
    TOKEN,
    Env,
    _tiny_png,
    check_package,
    put_active_account,
    s,
)
from workflows.snapshot import SnapshotWorkflow
from workflows.snapshot_models import SnapshotResult
from workflows.snapshot_starter import start_snapshot

METS = "{http://www.loc.gov/METS/}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
XLINK_NS = "http://www.w3.org/1999/xlink"
XLINK_XSD = Path(__file__).resolve().parent / "schemas" / "xlink.xsd"


@functools.cache
def mets_schema() -> xmlschema.XMLSchema10:
    """The official METS schema, loaded from local files only."""
    mets_xsd = files("metsrw") / "resources" / "mets.xsd"
    text = mets_xsd.read_text(encoding="utf-8")
    assert "Version 1.12.1" in text, "metsrw no longer ships METS 1.12.1: say which version"
    return xmlschema.XMLSchema10(str(mets_xsd), locations={XLINK_NS: XLINK_XSD.as_uri()},
                                 allow="local", use_fallback=False)


def mets_errors(source: Path | bytes) -> list[str]:
    """The validator's messages for a METS document (empty when valid)."""
    return [f"{error.path}: {error.reason}" for error in mets_schema().iter_errors(source)]


def assert_valid_mets(path: Path) -> ET.Element:
    errors = mets_errors(path)
    assert not errors, f"{path} is not valid METS 1.12.1:\n" + "\n".join(errors)
    root = ET.parse(path).getroot()
    # Says where its schemas are, so a registrar's validator finds them too.
    assert root.get(f"{XSI}schemaLocation") == SCHEMA_LOCATION
    return root


def alt_ids(root: ET.Element) -> dict[str | None, str | None]:
    return {a.get("TYPE"): a.text for a in root.iter(f"{METS}altRecordID")}


def test_r38_the_mets_schema_loads_offline_from_local_files() -> None:
    """R-38: the schema the checks below use is METS 1.12.1 with the METS
    Board's XLink schema, both from local files (no network here: a remote
    fetch is refused by allow="local")."""
    schema = mets_schema()
    assert schema.target_namespace == "http://www.loc.gov/METS/"
    assert schema.validity == "valid"
    urls = [str(loaded.url) for loaded in schema.maps.iter_schemas()]
    assert all(url.startswith("file:///") for url in urls), urls
    assert XLINK_XSD.as_uri() in urls
    assert f"{{{XLINK_NS}}}simpleLink" in schema.maps.attribute_groups
    # Without the vendored file the import from loc.gov is blocked, not fetched,
    # and the schema does not load.
    with pytest.warns(xmlschema.XMLSchemaImportWarning, match="block access to remote"), \
            pytest.raises(xmlschema.XMLSchemaParseError):
        xmlschema.XMLSchema10(str(files("metsrw") / "resources" / "mets.xsd"),
                              allow="local", use_fallback=False)


async def test_r38_snapshot_package_mets_is_valid_mets(s: Env) -> None:
    """R-38: a snapshot of a Facebook Page (the real SnapshotWorkflow: Graph
    API capture, Chromium render, BagIt package) writes a METS.xml that is
    valid METS 1.12.1."""
    now = await s.env.get_current_time()
    seed_page(s.graph, PAGE, TOKEN, posts=2, comments_per_post=2)
    state = await put_active_account(s, name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=PAGE, at=now)
    handle = await start_snapshot(
        s.client, account_id=state.account_id, municipality_id="exempelby", slug=state.slug,
        reason=snap.SnapshotReason.ON_DEMAND, day=snap.local_date(now, "Europe/Stockholm"),
        task_queue=s.task_queue)
    result = SnapshotResult.model_validate(await handle.result())
    check_package(result.package.path)
    root = assert_valid_mets(Path(result.package.path) / "data" / "METS.xml")
    assert alt_ids(root)["DELIVERYTYPE"] == "snapshot"
    assert alt_ids(root)["REFERENCECODE"] == result.diarium_number
    assert len(list(root.iter(f"{METS}file"))) >= 6  # page, PDF, PNG, capture, metadata


async def test_r38_final_closure_package_mets_is_valid_mets(s: Env) -> None:
    """R-38: the closure's final snapshot (the account workflow's child, from
    uploaded screenshots: an Instagram account Kanalvakt cannot read) writes
    a METS.xml that is valid METS 1.12.1."""
    from tests.workflows.snapshot_waits import waiting
    from tests.workflows.test_account_lifecycle import start, walk_to_active
    from workflows.account import AccountLifecycleWorkflow, AccountWorkflowResult

    handle = await start(s)  # type: ignore[arg-type]
    state = await walk_to_active(s, handle)  # type: ignore[arg-type]
    await handle.execute_update(AccountLifecycleWorkflow.request_closure, acc.RequestClosure(
        actor=MANAGER, reason="The house moves its programme to the municipal website"))
    final = s.client.get_workflow_handle(f"snapshot:exempelby:{state.slug}:final")
    await waiting(final, lambda w: w.outcome is None)
    await store_upload(s.pool, account_id=state.account_id,
                       file_name="sista.png", mime_type="image/png", content=_tiny_png(),
                       caption="Kontot före avslut", uploaded_by=REQUESTER,
                       uploaded_at=await s.env.get_current_time())
    await final.execute_update(SnapshotWorkflow.screenshots_done,
                               snap.ScreenshotsDone(actor=REQUESTER))
    result = AccountWorkflowResult.model_validate(await handle.result())
    assert result.final_package is not None
    root = assert_valid_mets(Path(result.final_package.path) / "data" / "METS.xml")
    assert alt_ids(root)["DELIVERYTYPE"] == "final_snapshot"
    hrefs = {f.get(f"{{{XLINK_NS}}}href") for f in root.iter(f"{METS}FLocat")}
    assert "file:///content/screenshots/001.png" in hrefs


async def test_r38_records_export_mets_is_valid_mets(pool: asyncpg.Pool,
                                                     tmp_path: Path) -> None:
    """R-38: a records export, of one account and of the whole municipality
    (no account: no ACCOUNT id, the municipality as creator), writes a
    METS.xml that is valid METS 1.12.1."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    now = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    state = await put_active_account(SimpleNamespace(pool=pool, directory=directory),  # type: ignore[arg-type]
                                     name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=None, at=now)
    sid = snap.snapshot_id("exempelby", state.slug, "2026-03-16")
    taken = snap.SnapshotTaken(
        at=now, snapshot_id=sid, account_id=state.account_id, municipality_id="exempelby",
        reason=snap.SnapshotReason.SCHEDULED, captured_at=now, source="record_only",
        package_id="p1", manifest_sha256="0" * 64, payload_oxum="1.1")
    await EventStore(pool, all_projections()).append(sid, 0, [
        NewEvent(event_id=uuid.uuid4(), event_type=taken.type,
                 data=taken.model_dump(mode="json"), occurred_at=now, actor=taken.actor)], "k1")

    for account_id in (state.account_id, None):
        ref = await export_records(pool, tmp_path, RecordsExportInput(
            municipality_id="exempelby", account_id=account_id, start=date(2026, 3, 1),
            end=date(2026, 3, 31), requested_by="ali.karimi",
            now=now + timedelta(minutes=1 if account_id else 2)))
        root = assert_valid_mets(Path(ref.path) / "data" / "METS.xml")
        ids = alt_ids(root)
        assert ids["DELIVERYTYPE"] == "records_export"
        assert (ids["STARTDATE"], ids["ENDDATE"]) == ("2026-03-01", "2026-03-31")
        assert ("ACCOUNT" in ids) is (account_id is not None)


def _metadata(**changes: object) -> snap.PackageMetadata:
    fields: dict[str, object] = dict(
        package_id="exempelby-kulturhuset-angen-facebook-20260316", kind=snap.PackageKind.SNAPSHOT,
        created_at=datetime(2026, 3, 16, 9, 0, 0, 123456, tzinfo=UTC), producer="Exempelby kommun",
        producer_id="exempelby", archival_creator="Kulturförvaltningen",
        archival_creator_id="kultur", record_class="Ögonblicksbild",
        diarium_number="KS 2026/00007", start_date=date(2026, 3, 1), end_date=date(2026, 3, 16),
        account_id=str(uuid.uuid4()), account_name="Kulturhuset Ängen", platform="facebook",
        handle="@kulturhusetangen")
    return snap.PackageMetadata.model_validate(fields | changes)


def _mets(meta: snap.PackageMetadata) -> bytes:
    payload, _ = with_metadata([BagFile(path="content/snapshot.pdf", content=b"%PDF-1.7"),
                                BagFile(path="content/snapshot.png", content=b"\x89PNG")], meta)
    [mets] = [f.content for f in payload if f.path == "METS.xml"]
    return mets


def _move_header_after_file_sec(text: str) -> str:
    header = re.search(r"<mets:metsHdr.*?</mets:metsHdr>\s*", text, re.S)
    file_sec = re.search(r"<mets:fileSec>.*?</mets:fileSec>\s*", text, re.S)
    assert header and file_sec
    return text.replace(header[0], "").replace(file_sec[0], file_sec[0] + header[0])


@pytest.mark.parametrize(("break_it", "expected"), [
    pytest.param(lambda t: t.replace(' ID="ID0001"', "", 1),
                 "missing required attribute 'ID'", id="file-without-ID"),
    pytest.param(lambda t: t.replace('FILEID="ID0002"', 'FILEID="ID9999"', 1),
                 "IDREF 'ID9999' not found", id="fptr-to-no-file"),
    pytest.param(lambda t: t.replace('ID="ID0002"', 'ID="ID0001"', 1),
                 "duplicated xs:ID value 'ID0001'", id="duplicate-ID"),
    pytest.param(lambda t: re.sub(r'CREATEDATE="[^"]*"', 'CREATEDATE="16.3.2026"', t, count=1),
                 "Invalid datetime string '16.3.2026'", id="date-not-xsd-dateTime"),
    pytest.param(lambda t: t.replace('CHECKSUMTYPE="SHA-256"', 'CHECKSUMTYPE="SHA256"', 1),
                 "CHECKSUMTYPE", id="checksum-type-not-METS"),
    pytest.param(_move_header_after_file_sec, "Unexpected child with tag 'mets:metsHdr'",
                 id="metsHdr-after-fileSec"),
])
def test_r38_a_broken_mets_is_reported_invalid(break_it: object, expected: str) -> None:
    """R-38: the check can fail: our METS.xml is valid, and the same document
    broken in one METS rule is reported invalid, with the validator saying why."""
    good = _mets(_metadata()).decode()
    assert mets_errors(good.encode()) == []
    assert callable(break_it)
    broken = break_it(good)
    assert broken != good
    errors = mets_errors(broken.encode())
    assert errors, "the broken METS passed the schema check"
    assert any(expected in e for e in errors), "\n".join(errors)


def test_r38_names_xml_cannot_carry_still_give_valid_mets() -> None:
    """R-38: a control character in a name (an account or profile name comes
    from people and platforms) is replaced by U+FFFD in METS.xml, which stays
    well-formed and valid; package.json keeps the name as it was."""
    meta = _metadata(account_name="Kulturhuset\x0bÄngen\x00", producer="Exempelby\x1fkommun")
    payload, _ = with_metadata([BagFile(path="content/snapshot.pdf", content=b"%PDF-1.7")], meta)
    files_by_path = {f.path: f.content for f in payload}
    mets = files_by_path["METS.xml"]
    assert mets_errors(mets) == [], "\n".join(mets_errors(mets))
    root = ET.fromstring(mets)
    assert root.get("LABEL", "").endswith(": Kulturhuset\ufffdÄngen\ufffd")
    assert [a.findtext(f"{METS}name") for a in root.iter(f"{METS}agent")][0] == \
        "Exempelby\ufffdkommun"
    assert "Kulturhuset\\u000bÄngen\\u0000" in files_by_path["metadata/package.json"].decode()
