"""The snapshots read model (R-37, R-38): snapshots, their diarium entries
and registrar inbox rows, the screenshot requests and their notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain import snapshot as snap
from store.eventstore import RecordedEvent


class SnapshotsProjection:
    """The snapshots read model, and a snapshot's entries in the diarium (a
    document with its number, R-28) and the registrar inbox (R-38)."""

    tables = ("snapshots", "diarium", "registrar_inbox", "snapshot_screenshot_requests")

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith(snap.SNAPSHOT_STREAM_PREFIX):
            return
        data: dict[str, Any] = event.data
        if event.event_type in _SCREENSHOT_EVENTS:
            await _apply_screenshot_wait(conn, event)
        elif event.event_type == "SnapshotTaken":
            taken = snap.SnapshotTaken.model_validate(data)
            await conn.execute(
                """
                INSERT INTO snapshots (snapshot_id, account_id, municipality_id, reason,
                    taken_at, source, posts, comments, screenshots, package_id,
                    manifest_sha256, payload_oxum)
                VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (snapshot_id) DO NOTHING
                """,
                taken.snapshot_id, taken.account_id, taken.municipality_id, taken.reason.value,
                taken.captured_at, taken.source, taken.posts, taken.comments,
                taken.screenshots, taken.package_id, taken.manifest_sha256, taken.payload_oxum)
        elif event.event_type == "SnapshotRegistered":
            registered = snap.SnapshotRegistered.model_validate(data)
            await conn.execute(
                "UPDATE snapshots SET diarium_number = $2, record_class = $3 "
                "WHERE snapshot_id = $1",
                registered.snapshot_id, registered.diarium_number, registered.record_class)
            await conn.execute(
                """
                INSERT INTO diarium (diarium_number, case_id, municipality_id, account_id,
                    record_class, confidential, registered_by, registered_at)
                VALUES ($1, $2, $3, $4::uuid, $5, false, $6, $7) ON CONFLICT DO NOTHING
                """,
                registered.diarium_number, registered.snapshot_id, registered.municipality_id,
                registered.account_id, registered.record_class, registered.actor, registered.at)
            row = await conn.fetchrow(
                "SELECT * FROM snapshots WHERE snapshot_id = $1", registered.snapshot_id)
            if row is not None:
                kind = "final_snapshot" if row["reason"] == "final" else "snapshot"
                await conn.execute(
                    """
                    INSERT INTO registrar_inbox (package_id, account_id, municipality_id, kind,
                        path, manifest_sha256, payload_oxum, registrars, received_at)
                    VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8)
                    ON CONFLICT (package_id) DO NOTHING
                    """,
                    row["package_id"], row["account_id"], row["municipality_id"], kind,
                    row["manifest_sha256"], row["payload_oxum"], registered.registrars,
                    registered.at)
        elif event.event_type == "SnapshotDelivered":
            delivered = snap.SnapshotDelivered.model_validate(data)
            await conn.execute(
                "UPDATE snapshots SET delivered_to = $2, delivery_kind = $3, delivered_at = $4 "
                "WHERE snapshot_id = $1",
                delivered.snapshot_id, delivered.location, delivered.kind, delivered.at)
            await conn.execute(
                """
                UPDATE registrar_inbox SET path = $2 WHERE package_id =
                    (SELECT package_id FROM snapshots WHERE snapshot_id = $1) AND path = ''
                """,
                delivered.snapshot_id, delivered.location)


_SCREENSHOT_EVENTS = frozenset({
    "SnapshotScreenshotsRequested", "SnapshotScreenshotsReminderSent",
    "SnapshotScreenshotsEscalated", "SnapshotScreenshotsDone", "SnapshotRecordOnlyDecided"})
_NOTIFY_KIND = {"SnapshotScreenshotsRequested": "screenshots_requested",
                "SnapshotScreenshotsReminderSent": "reminder",
                "SnapshotScreenshotsEscalated": "escalation"}


async def _apply_screenshot_wait(conn: asyncpg.Connection, event: RecordedEvent) -> None:
    """R-37, R-38: a snapshot waiting for screenshots, and the people told
    (the notifications read model, as the accounts' reminders)."""
    data: dict[str, Any] = event.data
    sid = event.stream_id
    next_due: datetime | None = None
    if event.event_type == "SnapshotScreenshotsRequested":
        requested = snap.SnapshotScreenshotsRequested.model_validate(data)
        next_due = min((st.due for st in requested.steps), default=None)
        await conn.execute(
            """
            INSERT INTO snapshot_screenshot_requests (snapshot_id, account_id, municipality_id,
                reason, requested_at, recipients, next_deadline)
            VALUES ($1, $2::uuid, $3, $4, $5, $6, $7) ON CONFLICT (snapshot_id) DO NOTHING
            """, sid, requested.account_id, requested.municipality_id, requested.reason.value,
            requested.at, requested.recipients, next_due)
        recipients, step, due = requested.recipients, "screenshots_requested", next_due
    elif event.event_type in ("SnapshotScreenshotsReminderSent", "SnapshotScreenshotsEscalated"):
        fired: snap.SnapshotScreenshotsReminderSent | snap.SnapshotScreenshotsEscalated = (
            snap.SnapshotScreenshotsReminderSent.model_validate(data)
            if event.event_type == "SnapshotScreenshotsReminderSent"
            else snap.SnapshotScreenshotsEscalated.model_validate(data))
        raw = await conn.fetchval(
            "SELECT data FROM events WHERE stream_id = $1 "
            "AND event_type = 'SnapshotScreenshotsRequested'", sid)
        steps = snap.SnapshotScreenshotsRequested.model_validate(raw).steps if raw else []
        later = [st.due for st in steps if st.due > fired.due]
        next_due = min(later, default=None)
        if isinstance(fired, snap.SnapshotScreenshotsReminderSent):
            await conn.execute(
                "UPDATE snapshot_screenshot_requests SET reminded_at = $2, next_deadline = $3 "
                "WHERE snapshot_id = $1", sid, fired.at, next_due)
        else:
            await conn.execute(
                "UPDATE snapshot_screenshot_requests SET escalated_at = $2, next_deadline = $3, "
                "escalated_to = $4 WHERE snapshot_id = $1", sid, fired.at, next_due, fired.step)
        recipients, step, due = fired.recipients, fired.step, fired.due
    else:
        ended: snap.SnapshotScreenshotsDone | snap.SnapshotRecordOnlyDecided = (
            snap.SnapshotScreenshotsDone.model_validate(data)
            if event.event_type == "SnapshotScreenshotsDone"
            else snap.SnapshotRecordOnlyDecided.model_validate(data))
        await conn.execute(
            """
            UPDATE snapshot_screenshot_requests SET outcome = $2, decided_by = $3,
                decided_at = $4, decision_reason = $5, screenshots = $6, next_deadline = NULL
            WHERE snapshot_id = $1
            """, sid,
            "done" if isinstance(ended, snap.SnapshotScreenshotsDone) else "record_only",
            ended.actor, ended.at,
            ended.decision_reason if isinstance(ended, snap.SnapshotRecordOnlyDecided) else None,
            ended.screenshots if isinstance(ended, snap.SnapshotScreenshotsDone) else 0)
        return
    account_id = data["account_id"]
    await conn.executemany(
        """
        INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage, due,
            created_at, case_id)
        VALUES ($1, $2, $3::uuid, $4, $5, 'awaiting_screenshots', $6, $7, $8)
        ON CONFLICT DO NOTHING
        """,
        [(event.event_id, who, account_id, _NOTIFY_KIND[event.event_type], step, due,
          event.occurred_at, sid) for who in recipients])
