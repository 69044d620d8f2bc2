"""The records export's package (R-38, issue 5): the rows readviews/records.py
read for a period, written as a BagIt package with the same METS /
package.json metadata as a snapshot. No database here: the rows come in as
plain JSON values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.archive import BagFile, write_bag
from adapters.snapshot_package import bag_info, json_bytes, json_lines, with_metadata
from domain import account as acc
from domain import snapshot as snap


@dataclass
class RecordsContent:
    """What a records export holds, as JSON-ready rows; `account` (its row
    with unit_name) and `account_events` only for an account's export."""

    municipality_id: str
    municipality_name: str
    account: dict[str, Any] | None
    diarium: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    disposals: list[dict[str, Any]]
    snapshots: list[dict[str, Any]]
    account_events: list[dict[str, Any]] = field(default_factory=list)
    # R-30, R-45 (issue 14): screenshots of comments deleted by hand, each
    # row with its bytes under "content" (None once disposed of).
    screenshots: list[dict[str, Any]] = field(default_factory=list)


_SUFFIX = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp",
           "application/pdf": "pdf"}


def screenshot_files(screenshots: list[dict[str, Any]]) -> list[BagFile]:
    """R-30, R-45: content/screenshots.json (case, file, digest, who, when,
    where in the package) and each file under content/screenshots/."""
    if not screenshots:
        return []
    files: list[BagFile] = []
    rows: list[dict[str, Any]] = []
    for shot in screenshots:
        path = None
        if shot.get("content") is not None:
            path = f"content/screenshots/{shot['sha256']}.{_SUFFIX.get(shot['mime_type'], 'bin')}"
            if path not in {f.path for f in files}:
                files.append(BagFile(path=path, content=shot["content"]))
        rows.append({k: (v.isoformat() if isinstance(v, datetime) else v)
                     for k, v in shot.items() if k != "content"} | {"path": path})
    return [BagFile(path="content/screenshots.json", content=json_bytes(rows)), *files]


def write_records_package(archive_dir: Path, content: RecordsContent, *, start: date, end: date,
                          account_id: str | None, requested_by: str, now: datetime
                          ) -> acc.ArchivePackageRef:
    """Write the package under `archive_dir/<municipality>/records/` (blocking:
    run it in a thread)."""
    account = content.account
    files = [
        BagFile(path="content/diarium.json", content=json_bytes(content.diarium)),
        BagFile(path="content/messages.jsonl", content=json_lines(content.messages)),
        BagFile(path="content/decisions.jsonl", content=json_lines(content.decisions)),
        BagFile(path="content/disposal-log.json", content=json_bytes(content.disposals)),
        BagFile(path="content/snapshots.json", content=json_bytes(content.snapshots)),
    ]
    files += screenshot_files(content.screenshots)
    if account is not None:
        files.append(BagFile(path="metadata/account-events.jsonl",
                             content=json_lines(content.account_events)))
    scope_name = "all" if account is None else account["state"]["slug"]
    # To the millisecond: two registrars exporting the same period in the same
    # second get two packages, not a clash.
    made = now.astimezone(UTC)
    package_id = (f"{content.municipality_id}-records-{scope_name}-{start:%Y%m%d}-"
                  f"{end:%Y%m%d}-{made:%Y%m%dT%H%M%S}{made.microsecond // 1000:03d}Z")
    meta = snap.PackageMetadata(
        package_id=package_id, kind=snap.PackageKind.RECORDS_EXPORT, created_at=now,
        producer=content.municipality_name, producer_id=content.municipality_id,
        archival_creator=((account["unit_name"] or account["unit_id"]) if account
                          else content.municipality_name),
        archival_creator_id=account["unit_id"] if account else content.municipality_id,
        record_class="Allmänna handlingar i sociala medier", start_date=start,
        end_date=end, account_id=account_id,
        account_name=account["account_name"] if account else None,
        platform=account["platform"] if account else None,
        handle=account["handle"] if account else None, url=account["url"] if account else None)
    payload, meta = with_metadata(files, meta)
    info = bag_info(meta) | {
        "Kanalvakt-Requested-By": requested_by,
        "Kanalvakt-Counts": f"diarium {len(content.diarium)}, messages "
                            f"{len(content.messages)}, decisions {len(content.decisions)}, "
                            f"disposals {len(content.disposals)}, snapshots "
                            f"{len(content.snapshots)}"}
    target = archive_dir / content.municipality_id / "records" / package_id
    target.parent.mkdir(parents=True, exist_ok=True)
    bag = write_bag(target, payload, info)
    return acc.ArchivePackageRef(package_id=package_id, path=bag.path,
                                 manifest_sha256=bag.manifest_sha256,
                                 payload_oxum=bag.payload_oxum)
