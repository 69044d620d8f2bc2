"""Reads of the inbound-message read models (migrations/0006_messages.sql)
for the web app: the moderation inbox (R-22, R-23), one case with its
timeline, the registrars' diarium search (R-28, R-31), the disposal log
(R-35), the moderation log, and the cases behind response times (R-42).

Rows come out JSON-ready: times as ISO strings, ids as strings. The
citizen's text and name come from message_contents, sealed under the case's
data key and opened here for a page at once (store.message_contents),
so they are null once a disposal has deleted them or destroyed the key
(R-35); a confidential registration never shows its text in the diarium
search, nor matches on it (R-31).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from codec import DataKeys, open_record
from domain import message as msg
from readviews.rows import plain_row
from store.message_contents import open_contents, with_contents

# The decisions on a message, by a person or by the account's policy
# (MessageHidden by `kanalvakt`), and a person's confirmation of what they did
# by hand on a platform; receipts, instructions, reminders and escalations are not.
DECISION_EVENTS = (
    "MessageHidden", "AcknowledgementSent", "MessageAnswered", "MessageForwarded",
    "DraftSubmitted", "MessageRegistered", "MessageRedacted", "DisposalScheduled",
    "MessageDisposed", "ManualActionConfirmed", "ScreenshotAttached",
    "ReplySubmittedForApproval", "ReplyApproved", "ReplySentBack",
    "MessageWatched", "CaseClosed",
)

# A case waiting for a person: one of these stages, or an outcome a person
# still has to carry out by hand on the platform (`pending_action`). Anything
# else has reached an outcome, disposal_pending included (only its
# date is still to come).
OPEN_STAGES = tuple(s.value for s in (msg.Stage.OPEN, msg.Stage.ACKNOWLEDGED,
                                      msg.Stage.FORWARDED, msg.Stage.DRAFTED,
                                      msg.Stage.AWAITING_APPROVAL))


def waiting_for_a_person(stages_param: int) -> str:
    """SQL for "the case `mc` waits for a person", with OPEN_STAGES passed as
    parameter $`stages_param`: one definition for every inbox and count."""
    return (f"(mc.stage = ANY(${stages_param}::text[]) "
            "OR mc.state->>'pending_action' IS NOT NULL)")


def _matches(q: str, value: str | None) -> bool:
    """What ILIKE '%q%' matched: `q` anywhere in `value`, case and runs of
    spaces aside ("KS  2026/00001" finds "KS 2026/00001")."""
    return value is not None and " ".join(q.split()).lower() in " ".join(value.split()).lower()


async def inbox(pool: asyncpg.Pool, account_id: str, *, include_closed: bool = False,
                data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """R-22, R-23: the account's cases, soonest deadline first (none last)."""
    rows = await pool.fetch(
        f"""
        SELECT mc.case_id, mc.platform, mc.kind, mc.from_staff, mc.stage, mc.received_at,
               mc.next_deadline, mc.escalated, mc.officer, mc.diarium_number, mc.flags,
               mc.state->>'mood' AS mood,
               COALESCE((mc.state->>'hidden')::boolean, false) AS hidden,
               mc.state->'message'->>'permalink' AS permalink,
               mc.state->>'pending_action' AS pending_action,
               mc.state->>'pending_instruction' AS pending_instruction,
               c.content
        FROM message_cases mc
        LEFT JOIN message_contents c ON c.case_id = mc.case_id
        WHERE mc.account_id = $1::uuid
          AND ($2 OR {waiting_for_a_person(3)})
        ORDER BY mc.next_deadline ASC NULLS LAST, mc.received_at, mc.case_id
        """,
        account_id, include_closed, list(OPEN_STAGES),
    )
    return await with_contents(data_keys, (plain_row(r) for r in rows))


async def awaiting_approval(pool: asyncpg.Pool, municipality_id: str, person_id: str
                            ) -> list[dict[str, Any]]:
    """R-39 (Kristiansand): the replies waiting for `person_id`'s approval as
    crisis management, soonest deadline first, with the reply as written
    (the citizen's message is read on the case page)."""
    rows = await pool.fetch(
        """
        SELECT mc.case_id, mc.platform, mc.next_deadline, mc.escalated,
               a.account_name,
               mc.state->'pending_reply'->>'text' AS reply,
               mc.state->'pending_reply'->>'kind' AS reply_kind,
               mc.state->'pending_reply'->>'submitted_by' AS submitted_by,
               mc.state->'pending_reply'->>'submitted_at' AS submitted_at
        FROM message_cases mc
        JOIN accounts a ON a.account_id = mc.account_id
        WHERE mc.municipality_id = $1 AND mc.stage = 'awaiting_approval'
          AND mc.state->'pending_reply'->'approvers' ? $2
        ORDER BY mc.next_deadline ASC NULLS LAST, mc.received_at, mc.case_id
        """,
        municipality_id, person_id)
    return [plain_row(r) for r in rows]


async def case(pool: asyncpg.Pool, case_id: str, data_keys: DataKeys | None = None
               ) -> dict[str, Any] | None:
    """One case's read-model row, with `content` (null once disposed) and
    `preserved_copy` (R-30; null when none was kept, e.g. advertising, R-32;
    a copy sealed under the case's data key is opened with `data_keys`)."""
    row = await pool.fetchrow(
        """
        SELECT mc.*, c.content, c.stored_at, p.capture, p.captured_at
        FROM message_cases mc
        LEFT JOIN message_contents c ON c.case_id = mc.case_id
        LEFT JOIN preserved_copies p ON p.case_id = mc.case_id
        WHERE mc.case_id = $1
        """,
        case_id,
    )
    if row is None:
        return None
    out = plain_row(row)
    [content] = await open_contents(data_keys, [out.pop("content")])
    stored = out.pop("stored_at")
    capture, captured = out.pop("capture"), out.pop("captured_at")
    out["content"] = None if content is None else {
        "text": content["text"], "author_name": content["author_name"], "stored_at": stored}
    if capture is not None:
        capture = await open_record(data_keys, capture)
    out["preserved_copy"] = None if capture is None else {
        "capture": capture, "captured_at": captured}
    return out


def case_state_of(row: dict[str, Any]) -> msg.MessageState:
    """The case's folded state from its read-model row (`case`), typed."""
    return msg.MessageState.model_validate(row["state"])


async def timeline(pool: asyncpg.Pool, case_id: str) -> list[dict[str, Any]]:
    """Every event of the case's stream, with who and when."""
    rows = await pool.fetch(
        """
        SELECT version, event_type, actor, occurred_at, data
        FROM events WHERE stream_id = $1 ORDER BY version
        """,
        case_id,
    )
    return [plain_row(r) for r in rows]


async def diarium(pool: asyncpg.Pool, municipality_id: str, *, q: str | None = None,
                  account_id: str | None = None, registered_from: datetime | None = None,
                  registered_to: datetime | None = None, record_class: str | None = None,
                  data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """R-28: the municipality's registered messages, newest first. `q` finds
    a diarium number or words of the text; a confidential row neither shows
    its text and author nor is found by them (R-31).

    The text is sealed at rest (issue 10), so SQL narrows the rows by the
    municipality and the other filters, and the words are matched here,
    after opening the candidates' contents (one query of the key table for
    all of them); a disposed case has no content to match (R-35)."""
    rows = await pool.fetch(
        """
        SELECT d.diarium_number, d.case_id, d.account_id, d.record_class, d.confidential,
               d.registered_by, d.registered_at, mc.platform, mc.kind, mc.stage,
               mc.received_at,
               CASE WHEN d.confidential THEN NULL ELSE c.content END AS content
        FROM diarium d
        LEFT JOIN message_cases mc ON mc.case_id = d.case_id
        LEFT JOIN message_contents c ON c.case_id = d.case_id
        WHERE d.municipality_id = $1
          AND ($2::uuid IS NULL OR d.account_id = $2::uuid)
          AND ($3::timestamptz IS NULL OR d.registered_at >= $3)
          AND ($4::timestamptz IS NULL OR d.registered_at < $4)
          AND ($5::text IS NULL OR d.record_class = $5)
        ORDER BY d.registered_at DESC, d.diarium_number DESC
        """,
        municipality_id, account_id, registered_from, registered_to, record_class,
    )
    found = await with_contents(data_keys, (plain_row(r) for r in rows))
    if not q:
        return found
    return [r for r in found
            if _matches(q, r["diarium_number"]) or _matches(q, r["text"])]


async def disposal_log(pool: asyncpg.Pool, municipality_id: str, *,
                       account_id: str | None = None) -> list[dict[str, Any]]:
    """R-35: each disposal with its decision, date and who, newest first."""
    rows = await pool.fetch(
        """
        SELECT case_id, account_id, decision_id, decided_by, disposed_at
        FROM disposal_log
        WHERE municipality_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)
        ORDER BY disposed_at DESC, case_id
        """,
        municipality_id, account_id,
    )
    return [plain_row(r) for r in rows]


async def moderation_log(pool: asyncpg.Pool, municipality_id: str, *,
                         account_id: str | None = None, occurred_from: datetime | None = None,
                         occurred_to: datetime | None = None) -> list[dict[str, Any]]:
    """Every decision on the municipality's messages, in the order recorded,
    with the removal category and its law for redactions (R-29)."""
    rows = await pool.fetch(
        """
        SELECT e.stream_id AS case_id, mc.account_id, e.version, e.event_type, e.actor,
               e.occurred_at, e.data->>'category' AS category, e.data->>'law' AS law
        FROM events e
        JOIN message_cases mc ON mc.case_id = e.stream_id
        WHERE mc.municipality_id = $1 AND e.event_type = ANY($2::text[])
          AND ($3::uuid IS NULL OR mc.account_id = $3::uuid)
          AND ($4::timestamptz IS NULL OR e.occurred_at >= $4)
          AND ($5::timestamptz IS NULL OR e.occurred_at < $5)
        ORDER BY e.global_position
        """,
        municipality_id, list(DECISION_EVENTS), account_id, occurred_from, occurred_to,
    )
    return [plain_row(r) for r in rows]


async def citizen_cases(pool: asyncpg.Pool, account_id: str, *,
                        received_from: datetime | None = None,
                        received_to: datetime | None = None) -> list[msg.MessageState]:
    """R-42: the account's citizen messages (staff posts need no answer), as
    their states, for response-time statistics."""
    rows = await pool.fetch(
        """
        SELECT state FROM message_cases
        WHERE account_id = $1::uuid AND NOT from_staff
          AND ($2::timestamptz IS NULL OR received_at >= $2)
          AND ($3::timestamptz IS NULL OR received_at < $3)
        ORDER BY received_at
        """,
        account_id, received_from, received_to,
    )
    return [msg.MessageState.model_validate(r["state"]) for r in rows]


async def municipalities_of(pool: asyncpg.Pool, person_id: str) -> list[str]:
    """The municipalities whose directory lists the person as active."""
    rows = await pool.fetch(
        "SELECT municipality_id FROM people WHERE id = $1 AND active ORDER BY municipality_id",
        person_id,
    )
    return [r["municipality_id"] for r in rows]
