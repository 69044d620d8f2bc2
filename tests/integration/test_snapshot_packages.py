"""R-37, R-38: archive packages beyond the snapshot itself: the registrar's
records export (CLI), checked by the reference `bagit` validator, and
delivery to S3-compatible storage against a real local S3 server (moto's
server, run in-process on loopback)."""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import bagit
import pytest

from adapters.archive import BagFile, write_bag
from adapters.snapshot_delivery import S3Delivery
from cli import main
from domain import snapshot as snap
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from tests.support import EXEMPELBY
from tests.workflows.test_snapshot_workflow import put_active_account

METS = "{http://www.loc.gov/METS/}"


async def test_r38_records_export_is_a_valid_package_with_the_periods_records(
        pool: asyncpg.Pool, database_url: str, tmp_path: Path) -> None:
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    now = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    state = await put_active_account(SimpleNamespace(pool=pool, directory=directory),  # type: ignore[arg-type]
                                     name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=None, at=now)
    sid = snap.snapshot_id("exempelby", state.slug, "2026-03-16")
    events = [
        snap.SnapshotTaken(at=now, snapshot_id=sid, account_id=state.account_id,
                           municipality_id="exempelby", reason=snap.SnapshotReason.SCHEDULED,
                           captured_at=now, source="record_only", package_id="p1",
                           manifest_sha256="0" * 64, payload_oxum="1.1"),
        snap.SnapshotRegistered(at=now, snapshot_id=sid, account_id=state.account_id,
                                municipality_id="exempelby", diarium_number="KS 2026/00007",
                                record_class="Ögonblicksbild", registrars=["ali.karimi"]),
    ]
    await EventStore(pool, all_projections()).append(sid, 0, [
        NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                 occurred_at=e.at, actor=e.actor) for e in events], "k1")

    code = await _cli(["--database-url", database_url, "records", "export", "exempelby",
                       "--from", "2026-03-01", "--to", "2026-03-31", "--account",
                       state.account_id, "--out", str(tmp_path)])
    assert code == 0
    [bag_dir] = list((tmp_path / "exempelby" / "records").iterdir())
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["Kanalvakt-Package-Kind"] == "records_export"
    assert bag.info["Kanalvakt-Period"] == "2026-03-01/2026-03-31"
    data = bag_dir / "data"
    assert "KS 2026/00007" in (data / "content/diarium.json").read_text("utf-8")
    assert '"AccountActivated"' in (data / "metadata/account-events.jsonl").read_text("utf-8")
    for name in ("messages.jsonl", "decisions.jsonl", "disposal-log.json", "snapshots.json"):
        assert (data / "content" / name).is_file()
    mets = ET.parse(data / "METS.xml").getroot()
    ids = {a.get("TYPE"): a.text for a in mets.iter(f"{METS}altRecordID")}
    assert ids["STARTDATE"] == "2026-03-01" and ids["ENDDATE"] == "2026-03-31"
    assert ids["DELIVERYTYPE"] == "records_export"

    # A reversed period or an unknown account is refused, nothing written.
    assert await _cli(["--database-url", database_url, "records", "export", "exempelby",
                       "--from", "2026-03-31", "--to", "2026-03-01", "--out",
                       str(tmp_path)]) == 2
    assert await _cli(["--database-url", database_url, "records", "export", "exempelby",
                       "--from", "2026-03-01", "--to", "2026-03-31", "--account",
                       str(uuid.uuid4()), "--out", str(tmp_path)]) == 2
    assert len(list((tmp_path / "exempelby" / "records").iterdir())) == 1


async def _cli(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)


@pytest.fixture
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port the system chooses (no race for it).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def test_r38_delivery_to_s3_compatible_storage_round_trips_a_valid_bag(
        s3_server: str, tmp_path: Path) -> None:
    """The archive location as an S3 bucket: every file of the bag is uploaded
    (boto3) with its SHA-256; read back, it is the same valid bag."""
    target = tmp_path / "exempelby-kulturhuset-angen-facebook-snapshot-2026-03-16"
    files = [BagFile(path="content/snapshot.html", content="<p>Åsa</p>".encode()),
             BagFile(path="metadata/account-events.jsonl", content=b'{"v": 1}\n')]
    write_bag(target, files, {"Source-Organization": "Exempelby kommun",
                               "Bagging-Date": "2026-03-16"})
    delivery = S3Delivery(endpoint=s3_server, bucket="registrator-arkiv", access_key="test",
                          secret_key="test", region="us-east-1", prefix="kanalvakt/")
    s3 = delivery.client()
    s3.create_bucket(Bucket="registrator-arkiv")

    location = await delivery.deliver(target, f"exempelby/{target.name}")
    assert location == f"s3://registrator-arkiv/kanalvakt/exempelby/{target.name}/"
    again = await delivery.deliver(target, f"exempelby/{target.name}")  # a retry
    assert again == location

    back = tmp_path / "from-s3" / target.name
    for path in (p for p in target.rglob("*") if p.is_file()):
        rel = path.relative_to(target).as_posix()
        obj = s3.get_object(Bucket="registrator-arkiv",
                            Key=f"kanalvakt/exempelby/{target.name}/{rel}")
        content = obj["Body"].read()
        assert obj["Metadata"]["sha256"] == hashlib.sha256(content).hexdigest()
        (back / rel).parent.mkdir(parents=True, exist_ok=True)
        (back / rel).write_bytes(content)
    bagit.Bag(str(back)).validate()
    assert (back / "data/content/snapshot.html").read_text("utf-8") == "<p>Åsa</p>"


async def test_r38_two_exports_of_one_period_in_the_same_second_are_two_valid_packages(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Two registrars exporting the same period at nearly the same moment get
    a package each (found by the authorisation matrix: it was a 500)."""
    from readviews.records import RecordsExportInput, export_records

    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    second = datetime(2026, 3, 31, 15, 0, 7, tzinfo=UTC)
    refs = [await export_records(pool, tmp_path, RecordsExportInput(
        municipality_id="exempelby", account_id=None, start=datetime(2026, 3, 1).date(),
        end=datetime(2026, 3, 31).date(), requested_by=who, now=second.replace(microsecond=ms))
    ) for who, ms in (("ali.karimi", 120_000), ("birgitta.nord", 480_000))]
    assert refs[0].package_id != refs[1].package_id
    for ref in refs:
        bagit.Bag(str(ref.path)).validate()
