"""The snapshot pipeline's side effects (R-37, R-38): capture -> render ->
package -> deliver, the fan-out's plan, the snapshots read model, the
stored snapshot policies and uploaded screenshots.

Every activity is idempotent, keyed by the snapshot id:

- capture writes the capture, the account's events (up to the version read)
  and its register entry to `snapshot_work` once; a retry returns what is there.
- render stores the page, PDF and PNG once (Chromium's PDF carries its own
  creation time, so a re-render would differ: the first one stands).
- package builds the bag from `snapshot_work` only, so a retry writes the
  same bytes and `write_bag` finds the identical bag already there.
- deliver copies (S3) or leaves (folder) the bag, checks it, and empties
  `snapshot_work`; a retry finds the bag delivered.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from datetime import UTC, date
from pathlib import Path
from typing import Any, Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

import settings as app_settings
from adapters.archive import BagFile, verify_bag, write_bag
from adapters.connectors.base import (
    SCREENSHOTS_NEEDED,
    AccountCapture,
    PlatformError,
    PlatformTarget,
    as_activity_error,
)
from adapters.connectors.manual import ManualConnector, platform_name
from adapters.connectors.registry import Connectors
from adapters.snapshot_delivery import Delivery, FolderDelivery, S3Delivery
from adapters.snapshot_package import bag_info, json_bytes, json_lines, with_metadata
from adapters.snapshot_render import (
    REASON_TEXT,
    SOURCE_TEXT,
    data_uri,
    local_text,
    render_html,
    render_pdf_and_png,
)
from domain import account as acc
from domain import snapshot as snap
from domain.calendar import OfficeHours
from domain.country import Country
from readviews.accounts import register_entry
from store.eventstore import EventStore, RecordedEvent
from store.snapshots import UPLOAD_SUFFIX, load_policy, upload_content

# ----------------------------------------------------------------------------- models


class SnapshotAccount(BaseModel):
    """What the pipeline needs to know of the account and its municipality."""

    account_id: str
    municipality_id: str
    municipality_name: str
    country: Country
    timezone: str
    diarium_prefix: str
    unit_id: str
    unit_name: str
    slug: str
    account_name: str
    platform: str
    stage: str
    handle: str | None = None
    url: str | None = None
    platform_account_id: str | None = None
    registrars: list[str] = []
    record_class: str = snap.SnapshotPolicy().record_class
    # who is asked for screenshots, and when (a platform Kanalvakt cannot read)
    admins: list[str] = []
    managers: list[str] = []  # the unit's manager and deputy
    communications: list[str] = []
    policy: snap.SnapshotPolicy = snap.SnapshotPolicy()
    # Issue 14: a wait's working-day steps end at the office's closing time
    # (the account's message office hours, else its monitoring hours).
    office_hours: OfficeHours = OfficeHours()

    @property
    def screenshot_people(self) -> snap.ScreenshotPeople:
        return snap.ScreenshotPeople(admins=tuple(sorted(self.admins)),
                                     managers=tuple(self.managers),
                                     communications=tuple(sorted(self.communications)))


class LoadSnapshotAccountInput(BaseModel):
    account_id: str


class CaptureSnapshotInput(BaseModel):
    snapshot_id: str
    account: SnapshotAccount
    now: AwareDatetime
    # a platform Kanalvakt cannot read with no screenshots uploaded
    # answers `awaiting_screenshots` and captures nothing (the workflow waits).
    wait_for_screenshots: bool = False
    # The communications unit decided to package without screenshots.
    without_screenshots: bool = False


class CaptureSnapshotResult(BaseModel):
    source: Literal["platform", "screenshots", "record_only"]
    posts: int = 0
    comments: int = 0
    screenshots: int = 0
    account_version: int = 0
    awaiting_screenshots: bool = False  # nothing captured: no screenshots uploaded yet


class ScreenshotUploadsInput(BaseModel):
    account_id: str
    snapshot_id: str


class RenderSnapshotInput(BaseModel):
    snapshot_id: str
    account: SnapshotAccount
    reason: snap.SnapshotReason
    taken_at: AwareDatetime
    diarium_number: str | None = None


class RenderSnapshotResult(BaseModel):
    html_bytes: int
    pdf_bytes: int
    png_bytes: int


class PackageSnapshotInput(BaseModel):
    snapshot_id: str
    account: SnapshotAccount
    reason: snap.SnapshotReason
    taken_at: AwareDatetime
    diarium_number: str | None = None


class DeliverSnapshotInput(BaseModel):
    snapshot_id: str
    municipality_id: str
    package: acc.ArchivePackageRef


class DeliveryResult(BaseModel):
    location: str
    kind: Literal["folder", "s3"]


class SnapshotPlanInput(BaseModel):
    municipality_id: str
    now: AwareDatetime
    nominal: date | None = None  # default: the local date of `now`


class PlannedAccount(BaseModel):
    account_id: str
    slug: str


class SnapshotPlan(BaseModel):
    municipality_id: str
    nominal: date
    day: date  # moved off blackouts and non-working days
    at: AwareDatetime  # when the snapshots are taken, UTC
    accounts: list[PlannedAccount]


# ----------------------------------------------------------------------------- activities


class SnapshotActivities:
    """Activities of SnapshotWorkflow and SnapshotFanOutWorkflow; built once by worker.py."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore, connectors: Connectors,
                 archive_dir: Path, delivery: Delivery | None = None) -> None:
        self._pool = pool
        self._store = store
        self._connectors = connectors
        self._archive_dir = archive_dir
        self._delivery = delivery or FolderDelivery()

    # -- who and what ---------------------------------------------------------

    @activity.defn(name="load_snapshot_account")
    async def load_account(self, inp: LoadSnapshotAccountInput) -> SnapshotAccount:
        row = await self._pool.fetchrow(
            """
            SELECT a.account_id, a.municipality_id, a.unit_id, a.platform, a.account_name,
                   a.stage, a.handle, a.url, a.platform_account_id, a.state->>'slug' AS slug,
                   a.state,
                   m.name AS municipality_name, m.country, m.timezone, m.diarium_prefix,
                   u.name AS unit_name
            FROM accounts a
            JOIN municipalities m ON m.id = a.municipality_id
            LEFT JOIN units u ON u.municipality_id = a.municipality_id AND u.id = a.unit_id
            WHERE a.account_id = $1::uuid
            """, inp.account_id)
        if row is None:
            raise ApplicationError(f"no account {inp.account_id}", type="UnknownAccount",
                                   non_retryable=True)
        registrars = await self._pool.fetch(
            "SELECT person_id FROM roles WHERE municipality_id = $1 AND role = 'registrar' "
            "ORDER BY person_id", row["municipality_id"])
        policy = await load_policy(self._pool, row["municipality_id"])
        state: dict[str, Any] = row["state"] or {}
        authorities: dict[str, Any] = state.get("authorities") or {}
        return SnapshotAccount(
            account_id=str(row["account_id"]), municipality_id=row["municipality_id"],
            municipality_name=row["municipality_name"], country=Country(row["country"]),
            timezone=row["timezone"], diarium_prefix=row["diarium_prefix"],
            unit_id=row["unit_id"], unit_name=row["unit_name"] or row["unit_id"],
            slug=row["slug"], account_name=row["account_name"], platform=row["platform"],
            stage=row["stage"], handle=row["handle"], url=row["url"],
            platform_account_id=row["platform_account_id"],
            registrars=[r["person_id"] for r in registrars], record_class=policy.record_class,
            admins=sorted(state.get("admins") or {}),
            managers=[p for p in (authorities.get("manager"), authorities.get("deputy")) if p],
            communications=sorted(authorities.get("communications") or []), policy=policy,
            office_hours=OfficeHours.model_validate(
                (state.get("message_policy") or {}).get("office_hours")
                or (state.get("request") or {}).get("monitoring_hours") or {}))

    @activity.defn(name="snapshot_plan")
    async def plan(self, inp: SnapshotPlanInput) -> SnapshotPlan:
        """R-37: the day the scheduled snapshots of a municipality are taken
        (moved off blackouts and non-working days) and its active accounts."""
        row = await self._pool.fetchrow(
            "SELECT country, timezone FROM municipalities WHERE id = $1", inp.municipality_id)
        if row is None:
            raise ApplicationError(f"no municipality {inp.municipality_id}",
                                   type="UnknownMunicipality", non_retryable=True)
        policy = await load_policy(self._pool, inp.municipality_id)
        nominal = inp.nominal or snap.local_date(inp.now, row["timezone"])
        day = snap.snapshot_day(nominal, Country(row["country"]), policy)
        at = max(snap.snapshot_moment(day, policy, row["timezone"]), inp.now) \
            if day == nominal else snap.snapshot_moment(day, policy, row["timezone"])
        accounts = await self._pool.fetch(
            """
            SELECT account_id, state->>'slug' AS slug FROM accounts
            WHERE municipality_id = $1 AND stage = 'active' ORDER BY state->>'slug'
            """, inp.municipality_id)
        return SnapshotPlan(
            municipality_id=inp.municipality_id, nominal=nominal, day=day, at=at,
            accounts=[PlannedAccount(account_id=str(a["account_id"]), slug=a["slug"])
                      for a in accounts])

    # -- capture ----------------------------------------------------------------

    @activity.defn(name="capture_snapshot")
    async def capture(self, inp: CaptureSnapshotInput) -> CaptureSnapshotResult:
        existing = await self._work(inp.snapshot_id, "result.json")
        if existing is not None:
            return CaptureSnapshotResult.model_validate_json(existing)
        account = inp.account
        files: dict[str, bytes] = {}
        result = await self._capture_platform(inp, files)
        if result is None and inp.without_screenshots:
            files["screenshots.json"] = json_bytes([])
            # the decision travels with the package, for the registrar.
            decided = [e for e in await self._store.read_stream(inp.snapshot_id)
                       if e.event_type == "SnapshotRecordOnlyDecided"]
            if decided:
                files["record-only-decision.json"] = json_bytes({
                    "decided_by": decided[-1].actor,
                    "decided_at": decided[-1].occurred_at.astimezone(UTC).isoformat(),
                    "reason": decided[-1].data["decision_reason"]})
            result = CaptureSnapshotResult(source="record_only")
        if result is None:
            result = await self._capture_screenshots(inp, files)
            if result.source == "record_only" and inp.wait_for_screenshots:
                # nothing stored; the workflow asks for screenshots and waits.
                return result.model_copy(update={"awaiting_screenshots": True})
        # The record as of now: the account's events and its register entry.
        events = await self._store.read_stream(f"account-{account.account_id}")

        entry = await register_entry(self._pool, account.account_id)
        files["account-events.jsonl"] = json_lines([_event_row(e) for e in events])
        files["register-entry.json"] = json_bytes(entry)
        result = result.model_copy(update={"account_version": len(events)})
        files["result.json"] = result.model_dump_json().encode()
        async with self._pool.acquire() as conn, conn.transaction():
            # result.json last: its presence means the capture is complete.
            for name in sorted(files, key=lambda n: n == "result.json"):
                await conn.execute(
                    "INSERT INTO snapshot_work (snapshot_id, name, content) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING", inp.snapshot_id, name, files[name])
            if result.source == "screenshots":
                await conn.execute(
                    "UPDATE snapshot_uploads SET used_by = $2 WHERE account_id = $1::uuid "
                    "AND used_by IS NULL", account.account_id, inp.snapshot_id)
        activity.logger.info("snapshot captured", extra={
            "snapshot_id": inp.snapshot_id, "source": result.source, "posts": result.posts})
        return result

    async def _capture_platform(self, inp: CaptureSnapshotInput,
                                files: dict[str, bytes]) -> CaptureSnapshotResult | None:
        account = inp.account
        if not account.platform_account_id:
            return None
        connector = self._connectors.for_target(PlatformTarget(
            platform=account.platform, object_id=account.platform_account_id, kind="comment",
            account_ref=account.platform_account_id))
        if isinstance(connector, ManualConnector):
            return None
        try:
            capture = await connector.capture_account(
                account.platform, account.platform_account_id, now=inp.now)
        except PlatformError as err:
            if SCREENSHOTS_NEEDED in err.message:
                return None
            raise as_activity_error(err) from err
        files["capture.json"] = json_bytes(capture.model_dump(mode="json"))
        return CaptureSnapshotResult(source="platform", posts=len(capture.posts),
                                     comments=capture.comment_count)

    async def _capture_screenshots(self, inp: CaptureSnapshotInput,
                                   files: dict[str, bytes]) -> CaptureSnapshotResult:
        rows = await self._pool.fetch(
            """
            SELECT upload_id, file_name, mime_type, content, path, caption, uploaded_by,
                   uploaded_at, sha256
            FROM snapshot_uploads
            WHERE account_id = $1::uuid AND (used_by IS NULL OR used_by = $2)
            ORDER BY uploaded_at, upload_id
            """, inp.account.account_id, inp.snapshot_id)
        listing: list[dict[str, Any]] = []
        for index, r in enumerate(rows, start=1):
            content = await upload_content(r)
            suffix = UPLOAD_SUFFIX.get(r["mime_type"]) or Path(r["path"] or "").suffix
            name = f"screenshots/{index:03d}{suffix}"
            files[name] = content
            listing.append({"file": name, "upload_id": str(r["upload_id"]),
                            "file_name": r["file_name"], "mime_type": r["mime_type"],
                            "caption": r["caption"], "uploaded_by": r["uploaded_by"],
                            "uploaded_at": r["uploaded_at"].isoformat(), "sha256": r["sha256"]})
        files["screenshots.json"] = json_bytes(listing)
        return CaptureSnapshotResult(source="screenshots" if listing else "record_only",
                                     screenshots=len(listing))

    @activity.defn(name="count_screenshot_uploads")
    async def count_uploads(self, inp: ScreenshotUploadsInput) -> int:
        """The screenshots the snapshot would take now (not used by another)."""
        n: int = await self._pool.fetchval(
            "SELECT count(*) FROM snapshot_uploads WHERE account_id = $1::uuid "
            "AND (used_by IS NULL OR used_by = $2)", inp.account_id, inp.snapshot_id)
        return n

    # -- render -------------------------------------------------------------------

    @activity.defn(name="render_snapshot")
    async def render(self, inp: RenderSnapshotInput) -> RenderSnapshotResult:
        done = await self._pool.fetch(
            "SELECT name, length(content) AS size FROM snapshot_work WHERE snapshot_id = $1 "
            "AND name IN ('snapshot.html', 'snapshot.pdf', 'snapshot.png')", inp.snapshot_id)
        if len(done) == 3:
            sizes = {r["name"]: r["size"] for r in done}
            return RenderSnapshotResult(html_bytes=sizes["snapshot.html"],
                                        pdf_bytes=sizes["snapshot.pdf"],
                                        png_bytes=sizes["snapshot.png"])
        html = render_html(await self._page_context(inp))
        try:
            pdf, png = await render_pdf_and_png(html)
        except Exception as err:
            raise ApplicationError(f"rendering failed: {err}", type="RenderFailed") from err
        async with self._pool.acquire() as conn, conn.transaction():
            for name, content in (("snapshot.html", html.encode()), ("snapshot.pdf", pdf),
                                  ("snapshot.png", png)):
                await conn.execute(
                    "INSERT INTO snapshot_work (snapshot_id, name, content) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING", inp.snapshot_id, name, content)
        return await self.render(inp)

    async def _page_context(self, inp: RenderSnapshotInput) -> dict[str, Any]:
        account, tz = inp.account, inp.account.timezone
        result = CaptureSnapshotResult.model_validate_json(
            await self._required_work(inp.snapshot_id, "result.json"))
        profile: dict[str, Any] | None = None
        posts: list[dict[str, Any]] = []
        shots: list[dict[str, Any]] = []
        notes: list[str] = []
        if result.source == "platform":
            capture = AccountCapture.model_validate_json(
                await self._required_work(inp.snapshot_id, "capture.json"))
            profile = capture.profile.model_dump()
            for post in capture.posts:
                posts.append({
                    **post.model_dump(), "created_local": local_text(post.created_time, tz),
                    "comments": [{**c.model_dump(), "created_local": local_text(c.created_time, tz)}
                                 for c in sorted(post.comments, key=lambda c: c.created_time)]})
            if capture.posts_truncated:
                notes.append(f"De {len(capture.posts)} senaste inläggen togs med; kontot har fler.")
        else:
            profile = {"name": account.account_name, "handle": (account.handle or "").lstrip("@")
                       or None, "about": None, "category": None, "followers": None,
                       "link": account.url, "website": None}
            listing = json.loads(await self._required_work(inp.snapshot_id, "screenshots.json"))
            for item in listing:
                content = await self._required_work(inp.snapshot_id, item["file"])
                shots.append({**item, "data_uri": data_uri(content, item["mime_type"]),
                              "uploaded_local": local_text(item["uploaded_at"], tz)})
            decision = await self._work(inp.snapshot_id, "record-only-decision.json")
            if decision is not None:
                d = json.loads(decision)
                notes.append(
                    f"Kanalvakt kan inte läsa {platform_name(account.platform)}. "
                    f"Kommunikationsenheten ({d['decided_by']}) beslutade "
                    f"{local_text(d['decided_at'], tz)} att arkivera ögonblicksbilden utan "
                    f"skärmbilder: {d['reason']}")
            elif not shots:
                notes.append(
                    f"Kanalvakt kan inte läsa {platform_name(account.platform)} och inga "
                    "skärmbilder var uppladdade: ögonblicksbilden visar bara Kanalvakts egna "
                    "uppgifter om kontot. Ladda upp skärmbilder och ta en ny ögonblicksbild.")
        return {
            "account": account.model_dump(), "platform_name": platform_name(account.platform),
            "profile": profile, "posts": posts, "shots": shots, "notes": notes,
            "reason_text": REASON_TEXT[inp.reason.value],
            "source_text": SOURCE_TEXT[result.source],
            "taken_local": local_text(inp.taken_at, tz),
            "municipality_name": account.municipality_name, "unit_name": account.unit_name,
            "snapshot_id": inp.snapshot_id, "diarium_number": inp.diarium_number,
        }

    # -- package ----------------------------------------------------------------

    @activity.defn(name="package_snapshot")
    async def package(self, inp: PackageSnapshotInput) -> acc.ArchivePackageRef:
        """R-37, R-38: the bag in the archive location's staging folder."""
        account = inp.account
        key = inp.snapshot_id.rsplit(":", 1)[-1]
        package_id = snap.package_id(account.municipality_id, account.slug, key)
        rows = await self._pool.fetch(
            "SELECT name, content FROM snapshot_work WHERE snapshot_id = $1", inp.snapshot_id)
        work = {r["name"]: bytes(r["content"]) for r in rows}
        target = self._archive_dir / account.municipality_id / package_id
        if not {"result.json", "snapshot.pdf"} <= set(work):
            if target.is_dir():  # delivered already, and the work emptied: a retry
                return _ref(package_id, target)
            raise ApplicationError(f"{inp.snapshot_id}: nothing captured or rendered yet",
                                   type="NotCaptured", non_retryable=True)
        result = CaptureSnapshotResult.model_validate_json(work["result.json"])
        metadata = {"account-events.jsonl", "register-entry.json"}
        files = [BagFile(path=f"metadata/{name}", content=work[name]) for name in sorted(metadata)]
        files += [BagFile(path=f"content/{name}", content=content)
                  for name, content in sorted(work.items())
                  if name not in metadata and name != "result.json"]
        events = [json.loads(line) for line in work["account-events.jsonl"].splitlines() if line]
        start = min((date.fromisoformat(e["occurred_at"][:10]) for e in events),
                    default=inp.taken_at.date())
        kind = snap.PackageKind.FINAL_SNAPSHOT if inp.reason is snap.SnapshotReason.FINAL \
            else snap.PackageKind.SNAPSHOT
        meta = snap.PackageMetadata(
            package_id=package_id, kind=kind, created_at=inp.taken_at,
            producer=account.municipality_name, producer_id=account.municipality_id,
            archival_creator=account.unit_name, archival_creator_id=account.unit_id,
            record_class=account.record_class, diarium_number=inp.diarium_number,
            start_date=min(start, inp.taken_at.date()), end_date=inp.taken_at.date(),
            account_id=account.account_id, account_name=account.account_name,
            platform=account.platform, handle=account.handle, url=account.url)
        payload, meta = with_metadata(files, meta)
        info = bag_info(meta) | {
            "Kanalvakt-Account-Id": account.account_id,
            "Kanalvakt-Snapshot-Id": inp.snapshot_id,
            "Kanalvakt-Reason": inp.reason.value,
            "Kanalvakt-Source": result.source,
            "Kanalvakt-Event-Count": str(result.account_version),
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        bag = await asyncio.to_thread(write_bag, target, payload, info)
        activity.logger.info("snapshot packaged", extra={
            "snapshot_id": inp.snapshot_id, "package_id": package_id, "oxum": bag.payload_oxum})
        return acc.ArchivePackageRef(package_id=package_id, path=bag.path,
                                     manifest_sha256=bag.manifest_sha256,
                                     payload_oxum=bag.payload_oxum)

    # -- deliver ----------------------------------------------------------------

    @activity.defn(name="deliver_snapshot")
    async def deliver(self, inp: DeliverSnapshotInput) -> DeliveryResult:
        bag = Path(inp.package.path)
        await asyncio.to_thread(verify_bag, bag)
        location = await self._delivery.deliver(bag, f"{inp.municipality_id}/{bag.name}")
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM snapshot_work WHERE snapshot_id = $1",
                               inp.snapshot_id)
            # The delivered package holds the screenshots: not kept twice.
            await conn.execute("UPDATE snapshot_uploads SET content = NULL WHERE used_by = $1 "
                               "AND content IS NOT NULL", inp.snapshot_id)
        return DeliveryResult(location=location, kind=self._delivery.kind)

    # -- helpers ----------------------------------------------------------------

    async def _work(self, snapshot_id: str, name: str) -> bytes | None:
        raw = await self._pool.fetchval(
            "SELECT content FROM snapshot_work WHERE snapshot_id = $1 AND name = $2",
            snapshot_id, name)
        return None if raw is None else bytes(raw)

    async def _required_work(self, snapshot_id: str, name: str) -> bytes:
        content = await self._work(snapshot_id, name)
        if content is None:
            raise ApplicationError(f"{snapshot_id}: {name} is missing; capture first",
                                   type="NotCaptured", non_retryable=True)
        return content


def _event_row(e: RecordedEvent) -> dict[str, Any]:
    return {"stream_id": e.stream_id, "version": e.version, "event_id": str(e.event_id),
            "type": e.event_type, "occurred_at": e.occurred_at.astimezone(UTC).isoformat(),
            "actor": e.actor, "data": e.data}


def _ref(package_id: str, target: Path) -> acc.ArchivePackageRef:
    manifest = (target / "manifest-sha256.txt").read_bytes()
    info = (target / "bag-info.txt").read_text("utf-8")
    oxum = next(line.split(": ", 1)[1] for line in info.splitlines()
                if line.startswith("Payload-Oxum: "))
    return acc.ArchivePackageRef(package_id=package_id, path=str(target),
                                 manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                                 payload_oxum=oxum)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def archive_delivery_from_env(archive_dir: Path) -> Delivery:
    """`KANALVAKT_ARCHIVE_DELIVERY=s3` with `KANALVAKT_ARCHIVE_S3_*` settings,
    else the archive folder itself (the default)."""
    if app_settings.load().archive_delivery == "s3":
        return S3Delivery.from_env()
    return FolderDelivery()
