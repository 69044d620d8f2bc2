"""Rebuilding the read models from the record, fast (issue 15: at least
20,000 events/s; the event-at-a-time replay of `EventStore.rebuild` did
1,406) and without stopping writes (issue 12 part 6).

The live projections (store/projections/accounts.py, messages.py,
monitoring.py, snapshots.py, crisis.py) apply one event at a time with a few
SQL statements each, inside the append's transaction: right for one
append, slow for a replay of the whole record. Here the same projections
are applied in memory instead:

- the events are read in large ordered batches through a server-side
  cursor, the next batch read while one is folded;
- an account's and a case's folded state stays in memory between its
  events (the same `domain.account.evolve` / `domain.message.evolve`), and
  its row is computed once, from its last event, with the same helpers the
  live projections use;
- rows are written with COPY on a second connection while the next batch
  is folded: insert-only tables keyed by their event directly, the others
  through a staging table and `INSERT ... ON CONFLICT DO NOTHING` in event
  order (the live statements' semantics); message cases from a write-back
  cache (new ones copied, known ones updated from a staging table) when it
  holds more than `CASE_CACHE` cases and at the end; the small tables that
  later events update (accounts, register, watch items, snapshots, crises
  ...) once at the end.

Memory stays bounded by the accounts, snapshots and crises (small) and by
`CASE_CACHE` message cases: past that, the cache is written and emptied
after a batch, and cases are read back when their next event comes.

Everything is written to shadow tables (`<table>_rebuild`, like the live
ones) from one snapshot of the log, without a lock; the events appended
meanwhile are caught up (by position, and the gaps below it that a snapshot
cannot see yet), and only the last catch-up and the swap (drop, rename,
index names kept) hold appends back with `LOCK TABLE events IN SHARE MODE`:
see `rebuild` and docs/decisions.md, "Rebuilding the read models beside the
live ones".

Every table of `TABLES` is rebuilt; `covers` says whether a list of
projections is exactly the app's, so an unknown projection falls back to
the event-at-a-time replay (EventStore.rebuild). The fast and live paths
give identical tables: tests/integration/test_read_model_rebuild_fast.py
compares every read-model table row by row over a record of every kind, and
tests/integration/test_read_model_rebuild_online.py with appends made while
the rebuild runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO, cast

import asyncpg

from domain import account as acc
from domain import crisis as cr
from domain import message as msg
from domain import snapshot as snap
from store.db import _jsonb_binary
from store.eventstore import Projection, RecordedEvent
from store.projections import all_projections
from store.projections.accounts import _NOTIFICATION_KINDS, account_row
from store.projections.crisis import _digest_event_id
from store.projections.messages import approval_rows, case_head, case_row
from store.projections.monitoring import _HANDLED as _MONITORING
from store.projections.snapshots import _NOTIFY_KIND

BATCH = 10_000
CASE_CACHE = 20_000
PROGRESS_EVERY = 2.0  # seconds between progress lines

_ACCOUNT = "account-"

# Every table the app's projections write (store.projections.all_projections).
TABLES = ("accounts", "public_register", "notifications", "registrar_inbox", "message_cases",
          "diarium", "disposal_log", "check_ins", "published_posts", "watch_items",
          "monitoring_tasks", "snapshots", "snapshot_screenshot_requests", "crisis_modes",
          "crisis_storms", "crisis_digests", "storm_counts")

_COLUMNS = {
    "accounts": ("account_id", "stream_id", "workflow_id", "municipality_id", "unit_id",
                 "platform", "account_name", "stage", "requester", "handle", "url", "admins",
                 "next_deadline", "escalated", "requested_at", "updated_at", "version", "state",
                 "platform_account_id", "last_check_in"),
    "public_register": ("account_id", "municipality_id", "unit_id", "platform", "account_name",
                        "handle", "url", "purpose", "contact_email", "monitoring_hours",
                        "listed_at"),
    "notifications": ("event_id", "recipient", "account_id", "kind", "step", "stage", "due",
                      "created_at", "case_id"),
    "registrar_inbox": ("package_id", "account_id", "municipality_id", "kind", "path",
                        "manifest_sha256", "payload_oxum", "registrars", "received_at"),
    "message_cases": ("case_id", "account_id", "municipality_id", "platform", "kind",
                      "from_staff", "stage", "received_at", "next_deadline", "escalated",
                      "officer", "diarium_number", "flags", "first_response_at", "closed_at",
                      "version", "state", "crisis_id"),
    "diarium": ("diarium_number", "case_id", "municipality_id", "account_id", "record_class",
                "confidential", "registered_by", "registered_at"),
    "disposal_log": ("case_id", "municipality_id", "account_id", "decision_id", "decided_by",
                     "disposed_at"),
    "check_ins": ("event_id", "account_id", "municipality_id", "checked_at", "checked_by",
                  "source", "case_id", "recorded_at"),
    "published_posts": ("account_id", "post_id", "municipality_id", "published_at",
                        "recorded_by", "recorded_at"),
    "watch_items": ("account_id", "item_id", "municipality_id", "unit_id", "summary", "link",
                    "seen_at", "reported_by", "reported_at", "status", "reminded_at",
                    "escalated_at", "resolved_by", "resolved_at", "resolution_note"),
    "monitoring_tasks": ("task_id", "account_id", "municipality_id", "kind", "assignees",
                         "inactive_since", "opened_at", "closed_at", "closed_by", "outcome",
                         "reason"),
    "snapshots": ("snapshot_id", "account_id", "municipality_id", "reason", "taken_at",
                  "source", "posts", "comments", "screenshots", "package_id",
                  "manifest_sha256", "payload_oxum", "diarium_number", "record_class",
                  "delivered_to", "delivery_kind", "delivered_at"),
    "snapshot_screenshot_requests": ("snapshot_id", "account_id", "municipality_id", "reason",
                                     "requested_at", "recipients", "next_deadline",
                                     "reminded_at", "escalated_at", "escalated_to", "outcome",
                                     "decided_by", "decided_at", "decision_reason",
                                     "screenshots"),
    "crisis_modes": ("crisis_id", "municipality_id", "units", "mode", "reason", "declared_by",
                     "declared_at", "ended_by", "ended_at", "end_reason"),
    "crisis_storms": ("event_id", "municipality_id", "account_id", "unit_id", "flagged_at",
                      "cooldown_until", "window_start", "window_end", "messages", "critical",
                      "cooled_down_at"),
    "crisis_digests": ("digest_id", "crisis_id", "municipality_id", "period_start",
                       "period_end", "compiled_at", "messages", "questions", "critical",
                       "open", "flagged", "digest"),
}

# Written as they come, per batch, first row wins (the live ON CONFLICT DO NOTHING).
_INSERT_ONLY = ("notifications", "diarium", "disposal_log", "check_ins", "published_posts",
                "crisis_digests")
# Notifications of fired steps, one row an event with its recipients (unnested
# by PostgreSQL; a recipient named twice is named once, the live first row).
_MORE_INSERTS = ("fired_notifications",)
# Tables whose rows are unique by construction while they are built (keyed by
# their event, repeats dropped in memory): their keys are made after the build.
_KEYED_LATER = ("notifications", "check_ins")
_FIRED_COLUMNS = ("event_id", "recipients", "account_id", "kind", "step", "stage", "due",
                  "created_at", "case_id")
_FIRED_STAGING = ("event_id uuid, recipients text[], account_id uuid, kind text, step text, "
                  "stage text, due timestamptz, created_at timestamptz, case_id text")
# The kinds of message event with rows of their own (Replay._message_rows).
_MESSAGE_ROWS = frozenset(("MessageRegistered", "MessageDisposed", "MessageReminderSent",
                           "MessageEscalated", "ReplySubmittedForApproval", "ReplySentBack"))
# Kept whole in memory and written at the end (later events update their rows).
_AT_THE_END = ("accounts", "public_register", "registrar_inbox", "watch_items",
               "monitoring_tasks", "snapshots", "snapshot_screenshot_requests", "crisis_modes",
               "crisis_storms")
# The message_cases columns an event changes (the live upsert's DO UPDATE, and crisis_id).
_CASE_UPDATED = ("stage", "next_deadline", "escalated", "officer", "diarium_number", "flags",
                 "first_response_at", "closed_at", "version", "state", "crisis_id")


def covers(projections: Sequence[Projection]) -> bool:
    """Whether `projections` are exactly the app's (store.projections.all_projections),
    the ones this module applies in memory."""
    return ([type(p) for p in projections] == [type(p) for p in all_projections()]
            and sorted({t for p in projections for t in p.tables}) == sorted(TABLES))


# --------------------------------------------------------------------------- memory


@dataclass(slots=True)
class _Case:
    state: msg.MessageState
    first: tuple[Any, ...]  # the row as first inserted (its insert-only columns stay)
    version: int
    crisis_id: str | None
    in_db: bool
    dirty: bool = True


@dataclass(slots=True)
class _Account:
    account_id: str
    state: acc.AccountState
    first: tuple[Any, ...]  # the row as first inserted (its insert-only columns stay)
    occurred_at: datetime
    version: int

    def row(self, stream_id: str) -> tuple[Any, ...]:
        # INSERT ... ON CONFLICT (account_id) DO UPDATE: the id, stream,
        # workflow, municipality, unit, platform, requester and request time stay.
        now = account_row(stream_id, self.state, self.occurred_at, self.version, raw=True)
        first = self.first
        return (*first[:6], *now[6:8], first[8], *now[9:14], first[14], *now[15:])


@dataclass
class _Memory:
    accounts: dict[str, _Account] = field(default_factory=dict)  # by stream id
    tables: dict[str, dict[Any, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in _AT_THE_END if t != "accounts"})
    inserts: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {t: [] for t in (*_INSERT_ONLY, *_MORE_INSERTS)})
    storm_counts: dict[tuple[str, datetime], list[int]] = field(default_factory=dict)
    cases: dict[str, _Case] = field(default_factory=dict)
    screenshot_steps: dict[str, list[Any]] = field(default_factory=dict)
    digest_notified: set[tuple[Any, str]] = field(default_factory=set)


def _row(table: str, values: tuple[Any, ...]) -> dict[str, Any]:
    """A full row of `table`: the given leading columns, NULL for the rest."""
    columns = _COLUMNS[table]
    return dict(zip(columns, values + (None,) * (len(columns) - len(values)), strict=True))


class _Event:
    """A stored event as the rebuild reads it: the attributes of RecordedEvent
    that the projections read, without building (and validating) a pydantic
    model per event (issue 15: a tenth of the rebuild's time)."""

    __slots__ = ("global_position", "stream_id", "version", "event_id", "event_type", "text",
                 "actor", "occurred_at", "_data")

    def __init__(self, row: asyncpg.Record) -> None:
        (self.global_position, self.stream_id, self.version, self.event_id, self.event_type,
         self.text, self.actor, self.occurred_at) = row
        self._data: Any = None

    @property
    def data(self) -> Any:
        """The event's data, decoded when first asked for (accounts' and
        cases' events are parsed from `text` itself)."""
        if self._data is None:
            self._data = json.loads(self.text)
        return self._data


def _as_recorded(event: _Event) -> RecordedEvent:
    """For the live projections' row helpers (notification_rows,
    approval_rows), which read only attributes `_Event` has."""
    return cast(RecordedEvent, event)


class _Replay:
    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.m = _Memory()

    def t(self, table: str) -> str:
        """The table the rebuild writes for the read model `table`."""
        return table + self.suffix

    # ---- one event, every projection in all_projections()'s order

    def apply(self, event: _Event) -> None:
        stream = event.stream_id
        if stream.startswith(_ACCOUNT):
            self._account(event)
        elif stream.startswith(msg.STREAM_PREFIX):
            self._message(event)
        elif stream.startswith(snap.SNAPSHOT_STREAM_PREFIX):
            self._snapshot(event)
        elif stream.startswith(cr.STREAM_PREFIX):
            self._crisis(event)

    def _account(self, event: _Event) -> None:
        m = self.m
        typed = acc.parse_event_json(event.text)
        known = m.accounts.get(event.stream_id)
        kind = typed.type  # not isinstance: a pydantic class's check is an ABC's, slow
        if kind == "AccountRequested":
            before = None
        elif known is None:
            raise LookupError(f"no account row for {event.stream_id}")
        else:
            before = known.state
        state = acc.evolve(before, typed)
        if known is None:
            known = m.accounts[event.stream_id] = _Account(
                state.account_id, state,
                account_row(event.stream_id, state, event.occurred_at, event.version),
                event.occurred_at, event.version)
        known.state, known.occurred_at, known.version = state, event.occurred_at, event.version
        account = known
        account_id, state = account.account_id, account.state
        tables = m.tables
        # PublicRegisterProjection
        register = tables["public_register"]
        if kind == "ListedInRegister":
            if account_id not in register:
                register[account_id] = _row("public_register", (
                    account_id, state.municipality_id, state.request.unit_id,
                    state.request.platform.value, state.name, state.handle, state.url,
                    state.request.purpose, state.request.contact_email,
                    acc.monitoring_hours_text(state.request.monitoring_hours),
                    event.occurred_at))
        elif kind == "ProfileChanged":
            if account_id in register:
                register[account_id].update(account_name=state.name, handle=state.handle,
                                            url=state.url)
        elif kind == "RemovedFromRegister":
            register.pop(account_id, None)
        # NotificationsProjection
        if kind in _NOTIFICATION_KINDS:
            assert isinstance(typed, acc.StepFired)
            self._notify_fired(event, _NOTIFICATION_KINDS[kind],
                               event.stream_id.removeprefix(_ACCOUNT), None, typed)
        # RegistrarInboxProjection
        if kind == "FinalSnapshotArchived":
            assert isinstance(typed, acc.FinalSnapshotArchived)
            package = typed.package
            tables["registrar_inbox"].setdefault(package.package_id, _row("registrar_inbox", (
                package.package_id, account_id, state.municipality_id, "final_snapshot",
                package.path, package.manifest_sha256, package.payload_oxum, typed.registrars,
                event.occurred_at)))
        # MonitoringProjection (R-15..R-20)
        if kind in _MONITORING:
            self._monitoring(event, typed, account_id, state)

    def _monitoring(self, event: _Event, typed: acc.AccountEvent, account_id: str,
                    state: acc.AccountState) -> None:
        m = self.m
        muni = state.municipality_id
        items = m.tables["watch_items"]
        tasks = m.tables["monitoring_tasks"]
        match typed:
            case acc.CheckInRecorded():
                m.inserts["check_ins"].append((
                    event.event_id, account_id, muni, typed.checked_at, typed.actor or "",
                    typed.source.value, typed.case_id, typed.at))
            case acc.PostRecorded():
                m.inserts["published_posts"].append((
                    account_id, typed.post_id, muni, typed.published_at, typed.actor or "",
                    typed.at))
                if state.monitoring.closure_proposed_at is None:  # active again
                    self._close_tasks(account_id, event, "post", None)
            case acc.WatchItemReported():
                items.setdefault((account_id, typed.item_id), _row("watch_items", (
                    account_id, typed.item_id, muni, state.request.unit_id, typed.summary,
                    typed.link, typed.seen_at, typed.actor or "", typed.at, "open")))
            case acc.WatchItemReminderSent():
                if (item := items.get((account_id, typed.item_id))) is not None:
                    item["reminded_at"] = typed.at
            case acc.WatchItemEscalated():
                if (item := items.get((account_id, typed.item_id))) is not None:
                    item["escalated_at"] = typed.at
            case acc.WatchItemResolved():
                if (item := items.get((account_id, typed.item_id))) is not None:
                    item.update(status="resolved", resolved_by=typed.actor, resolved_at=typed.at,
                                resolution_note=typed.note)
            case acc.ClosureProposed():
                tasks.setdefault(event.event_id, _row("monitoring_tasks", (
                    event.event_id, account_id, muni, "closure_proposal", typed.recipients,
                    typed.inactive_since, typed.at)))
            case acc.ClosureProposedForBreach():
                tasks.setdefault(event.event_id, _row("monitoring_tasks", (
                    event.event_id, account_id, muni, "closure_proposal", typed.recipients,
                    typed.since, typed.at)))
            case acc.AccountKept():
                self._close_tasks(account_id, event, "kept", typed.reason)
            case acc.ClosureRequested():
                self._close_tasks(account_id, event, "closed", typed.reason)

    def _close_tasks(self, account_id: str, event: _Event, outcome: str,
                     reason: str | None) -> None:
        for task in self.m.tables["monitoring_tasks"].values():
            if task["account_id"] == account_id and task["closed_at"] is None:
                task.update(closed_at=event.occurred_at, closed_by=event.actor, outcome=outcome,
                            reason=reason)

    def _notify(self, rows: list[tuple[Any, ...]]) -> None:
        """One event's notifications rows (keyed by the event's id and the
        recipient): a recipient named twice gets the first row, as the live
        INSERT ... ON CONFLICT DO NOTHING; no other event has the id, so
        the rows go to the table with COPY."""
        if len(rows) > 1 and len({r[1] for r in rows}) < len(rows):
            first: dict[Any, tuple[Any, ...]] = {}
            for row in rows:
                first.setdefault(row[1], row)
            rows = list(first.values())
        self.m.inserts["notifications"] += rows

    def _notify_fired(self, event: _Event, kind: str, account_id: str | None,
                      case_id: str | None,
                      fired: acc.StepFired | msg.MessageReminderSent | msg.MessageEscalated
                      ) -> None:
        """notification_rows's rows of a fired step (its step, stage, due
        and recipients as recorded), as one row with the recipients in an
        array (unnested by PostgreSQL: a fifth of the rows to encode)."""
        recipients = fired.recipients
        if len(set(recipients)) < len(recipients):  # the first row of a recipient, as live
            recipients = list(dict.fromkeys(recipients))
        self.m.inserts["fired_notifications"].append((
            event.event_id, recipients, account_id, kind, fired.step, fired.stage.value,
            fired.due, event.occurred_at, case_id))

    def _message(self, event: _Event) -> None:
        m = self.m
        typed = msg.parse_event_json(event.text)
        kind = typed.type  # not isinstance: a pydantic class's check is an ABC's, slow
        case = m.cases.get(event.stream_id)
        if kind == "MessageReceived" or kind == "StaffPostRecorded":
            state = msg.evolve(None, typed)
            if case is None:
                case = _Case(state, case_head(state), event.version, None, in_db=False)
                m.cases[event.stream_id] = case
        else:
            if case is None:
                raise LookupError(f"no message case {event.stream_id}")
            state = msg.evolve(case.state, typed)
        case.state, case.version, case.dirty = state, event.version, True
        if kind in _MESSAGE_ROWS:
            self._message_rows(event, typed, state)
        # CrisisProjection: the crisis tag and the storm's count.
        if kind == "MessageReceived" or kind == "CrisisRulesApplied":
            if state.crisis_id is not None:
                case.crisis_id = state.crisis_id
        if kind == "MessageReceived":
            first = case.first
            if not first[5]:  # from_staff
                received: datetime = first[7]
                key = (first[1], received.replace(second=0, microsecond=0))
                counts = m.storm_counts.setdefault(key, [0, 0])
                counts[0] += 1
                counts[1] += state.mood == "critical"

    def _message_rows(self, event: _Event, typed: msg.MessageEvent,
                      state: msg.MessageState) -> None:
        """The insert-only rows of the few kinds of message event that have any."""
        m = self.m
        match typed:
            case msg.MessageRegistered():
                m.inserts["diarium"].append((
                    typed.diarium_number, state.case_id, state.municipality_id,
                    state.account_id, typed.record_class, typed.confidential, typed.actor,
                    typed.at))
            case msg.MessageDisposed():
                m.inserts["disposal_log"].append((
                    state.case_id, state.municipality_id, state.account_id, typed.decision_id,
                    typed.decided_by, typed.at))
            case msg.MessageReminderSent() | msg.MessageEscalated():
                self._notify_fired(event, _NOTIFICATION_KINDS[event.event_type],
                                   state.account_id, state.case_id, typed)
            case msg.ReplySubmittedForApproval() | msg.ReplySentBack():
                self._notify(approval_rows(_as_recorded(event), typed, state))

    def _snapshot(self, event: _Event) -> None:
        tables = self.m.tables
        data: dict[str, Any] = event.data
        kind = event.event_type
        snapshots = tables["snapshots"]
        if kind in ("SnapshotScreenshotsRequested", "SnapshotScreenshotsReminderSent",
                    "SnapshotScreenshotsEscalated", "SnapshotScreenshotsDone",
                    "SnapshotRecordOnlyDecided"):
            self._screenshot_wait(event)
        elif kind == "SnapshotTaken":
            taken = snap.SnapshotTaken.model_validate(data)
            snapshots.setdefault(taken.snapshot_id, _row("snapshots", (
                taken.snapshot_id, taken.account_id, taken.municipality_id, taken.reason.value,
                taken.captured_at, taken.source, taken.posts, taken.comments,
                taken.screenshots, taken.package_id, taken.manifest_sha256,
                taken.payload_oxum)))
        elif kind == "SnapshotRegistered":
            registered = snap.SnapshotRegistered.model_validate(data)
            row = snapshots.get(registered.snapshot_id)
            if row is not None:
                row.update(diarium_number=registered.diarium_number,
                           record_class=registered.record_class)
            self.m.inserts["diarium"].append((
                registered.diarium_number, registered.snapshot_id, registered.municipality_id,
                registered.account_id, registered.record_class, False, registered.actor,
                registered.at))
            if row is not None:
                tables["registrar_inbox"].setdefault(row["package_id"], _row("registrar_inbox", (
                    row["package_id"], row["account_id"], row["municipality_id"],
                    "final_snapshot" if row["reason"] == "final" else "snapshot", "",
                    row["manifest_sha256"], row["payload_oxum"], registered.registrars,
                    registered.at)))
        elif kind == "SnapshotDelivered":
            delivered = snap.SnapshotDelivered.model_validate(data)
            row = snapshots.get(delivered.snapshot_id)
            if row is not None:
                row.update(delivered_to=delivered.location, delivery_kind=delivered.kind,
                           delivered_at=delivered.at)
                inbox = tables["registrar_inbox"].get(row["package_id"])
                if inbox is not None and inbox["path"] == "":
                    inbox["path"] = delivered.location

    def _screenshot_wait(self, event: _Event) -> None:
        """As activities.snapshot._apply_screenshot_wait."""
        m = self.m
        requests = m.tables["snapshot_screenshot_requests"]
        data: dict[str, Any] = event.data
        sid = event.stream_id
        if event.event_type == "SnapshotScreenshotsRequested":
            requested = snap.SnapshotScreenshotsRequested.model_validate(data)
            m.screenshot_steps.setdefault(sid, list(requested.steps))
            next_due = min((st.due for st in requested.steps), default=None)
            requests.setdefault(sid, _row("snapshot_screenshot_requests", (
                sid, requested.account_id, requested.municipality_id, requested.reason.value,
                requested.at, requested.recipients, next_due)))
            recipients, step, due = requested.recipients, "screenshots_requested", next_due
        elif event.event_type in ("SnapshotScreenshotsReminderSent",
                                  "SnapshotScreenshotsEscalated"):
            fired: snap.SnapshotScreenshotsReminderSent | snap.SnapshotScreenshotsEscalated = (
                snap.SnapshotScreenshotsReminderSent.model_validate(data)
                if event.event_type == "SnapshotScreenshotsReminderSent"
                else snap.SnapshotScreenshotsEscalated.model_validate(data))
            later = [st.due for st in m.screenshot_steps.get(sid, []) if st.due > fired.due]
            next_due = min(later, default=None)
            row = requests.get(sid)
            if row is not None:
                if isinstance(fired, snap.SnapshotScreenshotsReminderSent):
                    row.update(reminded_at=fired.at, next_deadline=next_due)
                else:
                    row.update(escalated_at=fired.at, next_deadline=next_due,
                               escalated_to=fired.step)
            recipients, step, due = fired.recipients, fired.step, fired.due
        else:
            ended: snap.SnapshotScreenshotsDone | snap.SnapshotRecordOnlyDecided = (
                snap.SnapshotScreenshotsDone.model_validate(data)
                if event.event_type == "SnapshotScreenshotsDone"
                else snap.SnapshotRecordOnlyDecided.model_validate(data))
            row = requests.get(sid)
            if row is not None:
                row.update(
                    outcome="done" if isinstance(ended, snap.SnapshotScreenshotsDone)
                    else "record_only", decided_by=ended.actor, decided_at=ended.at,
                    decision_reason=(ended.decision_reason
                                     if isinstance(ended, snap.SnapshotRecordOnlyDecided)
                                     else None),
                    screenshots=(ended.screenshots
                                 if isinstance(ended, snap.SnapshotScreenshotsDone) else 0),
                    next_deadline=None)
            return
        self._notify([
            (event.event_id, who, data["account_id"], _NOTIFY_KIND[event.event_type], step,
             "awaiting_screenshots", due, event.occurred_at, sid) for who in recipients])

    def _crisis(self, event: _Event) -> None:
        m = self.m
        modes, storms = m.tables["crisis_modes"], m.tables["crisis_storms"]
        typed = cr.parse_event(event.data)
        match typed:
            case cr.CrisisDeclared():
                c = typed.crisis
                modes.setdefault(c.crisis_id, _row("crisis_modes", (
                    c.crisis_id, c.municipality_id, sorted(c.units), c.model_dump(mode="json"),
                    typed.reason, typed.actor, typed.at)))
            case cr.CrisisApproversChanged():
                if (row := modes.get(typed.crisis.crisis_id)) is not None:
                    row["mode"] = typed.crisis.model_dump(mode="json")
            case cr.CrisisEnded():
                if (row := modes.get(typed.crisis_id)) is not None:
                    row.update(ended_by=typed.actor, ended_at=typed.at, end_reason=typed.reason)
            case cr.StormFlagged():
                storms.setdefault(event.event_id, _row("crisis_storms", (
                    event.event_id, event.stream_id.removeprefix(cr.STREAM_PREFIX),
                    typed.account_id, typed.unit_id, typed.flag.flagged_at, typed.flag.until,
                    typed.window_start, typed.window_end, typed.flag.messages,
                    typed.flag.critical)))
                self._notify([
                    (event.event_id, who, typed.account_id, "storm",
                     f"storm@{typed.at.isoformat()}", "active", typed.flag.until,
                     event.occurred_at, None) for who in typed.recipients])
            case cr.StormCooledDown():
                for row in storms.values():
                    if (str(row["account_id"]) == str(typed.account_id)
                            and row["cooled_down_at"] is None):
                        row["cooled_down_at"] = typed.at
            case cr.CrisisDigestCompiled():
                d = typed.digest
                m.inserts["crisis_digests"].append((
                    d.digest_id, d.crisis_id, d.municipality_id, d.period_start, d.period_end,
                    typed.at, d.messages, d.questions, d.critical, d.open, d.flagged,
                    json.loads(d.model_dump_json())))
                # Keyed by digest and recipient, not by event: a digest
                # compiled again keeps its first rows, as live.
                for who in d.recipients:
                    key = _digest_event_id(d.digest_id, who)
                    if (key, who) not in m.digest_notified:
                        m.digest_notified.add((key, who))
                        m.inserts["notifications"].append((
                            key, who, None, "crisis_digest", d.digest_id, "crisis",
                            d.period_end, event.occurred_at, None))

    # ---- reading cases back, writing a batch

    def cases_let_go(self, events: list[_Event]) -> set[str]:
        """The known cases the batch continues that the cache let go of."""
        cases = self.m.cases
        return {e.stream_id for e in events if e.stream_id.startswith(msg.STREAM_PREFIX)
                and e.event_type not in ("MessageReceived", "StaffPostRecorded")
                and e.stream_id not in cases}

    async def load_cases(self, conn: asyncpg.Connection, wanted: set[str]) -> None:
        """The cases `wanted` read back from the table."""
        cases = self.m.cases
        rows = await conn.fetch(
            f"SELECT {', '.join(_COLUMNS['message_cases'])} FROM {self.t('message_cases')} "
            "WHERE case_id = ANY($1::text[])", list(wanted))
        for r in rows:
            values = tuple(r.values())
            cases[r["case_id"]] = _Case(
                msg.MessageState.model_validate_json(r["state"]),
                (*values[:1], str(values[1]), *values[2:-1]), r["version"], r["crisis_id"],
                in_db=True, dirty=False)

    def take_batch(self, *, all_cases: bool = False) -> _Writes:
        """What a batch changed, taken out of memory (so the next batch can
        be folded while these rows are written): the insert-only rows, the
        storm counts, and the cases' rows when the cache is full (then it is
        emptied) or `all_cases`."""
        m = self.m
        writes = _Writes()
        for table in (*_INSERT_ONLY, *_MORE_INSERTS):
            writes.inserts[table], m.inserts[table] = m.inserts[table], []
        writes.storm_counts = [(a, minute, n, c) for (a, minute), (n, c)
                               in m.storm_counts.items()]
        m.storm_counts.clear()
        if all_cases or len(m.cases) > CASE_CACHE:
            writes.new_cases, writes.known_cases = self._case_rows()
            if not all_cases:
                m.cases.clear()
        return writes

    def _case_rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The cases changed since they were last written (a write-back
        cache: a case's row is computed once however many batches it spans,
        until the cache is full): new ones, and ones the table has."""
        new: list[tuple[Any, ...]] = []
        known: list[tuple[Any, ...]] = []
        for case in self.m.cases.values():
            if not case.dirty:
                continue
            now = case_row(case.state, case.version, raw=True)
            # INSERT ... ON CONFLICT (case_id) DO UPDATE: the first row's
            # account, municipality, platform, kind, sender and receipt stay.
            row = (*case.first[:6], *now[6:7], case.first[7], *now[8:], case.crisis_id)
            (known if case.in_db else new).append(row)
            case.in_db, case.dirty = True, False
        return new, known

    async def write(self, conn: asyncpg.Connection, writes: _Writes) -> None:
        """One batch's rows, in one transaction on `conn`."""
        async with conn.transaction():
            for table in ("check_ins", "notifications"):  # keyed by their event: COPY
                if writes.inserts[table]:
                    await conn.copy_records_to_table(
                        self.t(table), records=writes.inserts[table],
                        columns=list(_COLUMNS[table]))
            for table in ("diarium", "disposal_log", "published_posts", "crisis_digests"):
                if writes.inserts[table]:
                    await self._insert_new(conn, table, writes.inserts[table])
            if writes.inserts["fired_notifications"]:
                await self._copy_via_staging(
                    conn, "fired_notifications", _FIRED_COLUMNS,
                    writes.inserts["fired_notifications"],
                    f"INSERT INTO {self.t('notifications')} "
                    f"({', '.join(_COLUMNS['notifications'])}) SELECT "
                    + ", ".join(_FIRED_COLUMNS).replace("recipients", "unnest(recipients)")
                    + " FROM {staging}")
            if writes.storm_counts:
                target = self.t("storm_counts")
                await self._copy_via_staging(
                    conn, "storm_counts", ("account_id", "minute", "messages", "critical"),
                    writes.storm_counts,
                    f"""INSERT INTO {target} AS t (account_id, minute, messages, critical)
                       SELECT account_id, minute, messages, critical FROM {{staging}}
                       ON CONFLICT (account_id, minute) DO UPDATE SET
                           messages = t.messages + EXCLUDED.messages,
                           critical = t.critical + EXCLUDED.critical""")
            if writes.new_cases:
                await conn.copy_records_to_table(
                    self.t("message_cases"), records=writes.new_cases,
                    columns=list(_COLUMNS["message_cases"]))
            if writes.known_cases:
                sets = ", ".join(f"{c} = s.{c}" for c in _CASE_UPDATED)
                target = self.t("message_cases")
                await self._copy_via_staging(
                    conn, "message_cases", _COLUMNS["message_cases"], writes.known_cases,
                    f"UPDATE {target} SET {sets} FROM {{staging}} s "
                    f"WHERE {target}.case_id = s.case_id")

    async def write_the_rest(self, conn: asyncpg.Connection) -> None:
        """The tables kept whole in memory (accounts, register, watch items,
        snapshots, crises ...), written once, at the end."""
        rows = [a.row(stream) for stream, a in self.m.accounts.items()]
        if rows:
            await conn.copy_records_to_table(
                self.t("accounts"), records=rows, columns=list(_COLUMNS["accounts"]))
        for table, kept in self.m.tables.items():
            if kept:
                columns = _COLUMNS[table]
                await conn.copy_records_to_table(
                    self.t(table), records=[tuple(r[c] for c in columns) for r in kept.values()],
                    columns=list(columns))

    async def _insert_new(self, conn: asyncpg.Connection, table: str,
                          rows: list[tuple[Any, ...]]) -> None:
        """INSERT ... ON CONFLICT DO NOTHING in event order, as the live
        projections: the first row of a key wins."""
        columns = ", ".join(_COLUMNS[table])
        await self._copy_via_staging(
            conn, table, _COLUMNS[table], rows,
            f"INSERT INTO {self.t(table)} ({columns}) SELECT {columns} FROM {{staging}} "
            "ORDER BY seq ON CONFLICT DO NOTHING", numbered=True)

    async def _copy_via_staging(self, conn: asyncpg.Connection, table: str,
                                columns: Sequence[str], rows: list[tuple[Any, ...]],
                                statement: str, *, numbered: bool = False) -> None:
        staging = f"rebuild_{table}"
        shape = (f"LIKE {table} INCLUDING DEFAULTS" if table != "fired_notifications"
                 else _FIRED_STAGING)
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({shape}"
            + (", seq bigint" if numbered else "") + ") ON COMMIT DROP")
        await conn.execute(f"TRUNCATE {staging}")
        if numbered:
            rows = [(*r, i) for i, r in enumerate(rows)]
            columns = (*columns, "seq")
        await conn.copy_records_to_table(staging, records=rows, columns=list(columns))
        await conn.execute(statement.format(staging=staging))


@dataclass
class _Writes:
    """One batch's rows for the tables (rebuild.write)."""

    inserts: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    storm_counts: list[tuple[Any, ...]] = field(default_factory=list)
    new_cases: list[tuple[Any, ...]] = field(default_factory=list)
    known_cases: list[tuple[Any, ...]] = field(default_factory=list)


class Progress:
    """A line on `out` at most every PROGRESS_EVERY seconds: events done of
    the total, the rate so far and the time left at that rate."""

    def __init__(self, out: TextIO | None, total: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.total, self.clock = out, total, clock
        self.began = self.last = clock()

    def __call__(self, done: int, *, final: bool = False) -> None:
        now = self.clock()
        if self.out is None or (not final and now - self.last < PROGRESS_EVERY):
            return
        self.last = now
        took = max(now - self.began, 1e-9)
        rate = done / took
        share = f" ({100 * done / self.total:.0f} %)" if self.total else ""
        if final:
            tail = f"done in {took:.1f} s"
        else:
            tail = (f"about {(self.total - done) / rate:.0f} s left" if rate and self.total
                    else "")
        print(f"rebuild-read-models: {done:,}/{self.total:,} events{share}, "
              f"{rate:,.0f} events/s, {tail}", file=self.out, flush=True)

    def say(self, text: str) -> None:
        if self.out is not None:
            print(f"rebuild-read-models: {text}", file=self.out, flush=True)


_COLUMNS_READ = ("global_position, stream_id, version, event_id, event_type, data, actor, "
                 "occurred_at")
_SELECT = f"SELECT {_COLUMNS_READ} FROM events ORDER BY global_position"
# The events a snapshot did not show: past the last position it had, or in
# a gap below it (a position taken by a transaction that had not committed
# yet, or by one that rolled back and never will).
_SELECT_AFTER = (f"SELECT {_COLUMNS_READ} FROM events WHERE global_position > $1 "
                 "OR global_position = ANY($2::bigint[]) ORDER BY global_position")

SUFFIX = "_rebuild"  # the tables built beside the read models, then swapped in
CATCH_UP_ROUNDS = 5  # catch-ups without the lock, at most, before the last one with it
CATCH_UP_SMALL = 1_000  # a catch-up this small is the last one without the lock
YIELD_EVERY = 250  # events folded between chances for the writer to go on

# One rebuild at a time: it owns the shadow tables (any fixed number).
_REBUILD_LOCK_KEY = 0x6B616E616C76_15


class RebuildRunning(RuntimeError):
    """Another rebuild of the read models is running."""


class _Position:
    """Which events the rebuild has applied: every position up to `last`
    except `gaps`."""

    def __init__(self) -> None:
        self.last = 0
        self.gaps: set[int] = set()

    def saw(self, position: int) -> None:
        if position > self.last:
            self.gaps.update(range(self.last + 1, position))
            self.last = position
        else:
            self.gaps.discard(position)


class _Run:
    """One rebuild: the replay in memory, the connection that writes the
    shadow tables (one batch's writes in flight while the next batch is
    folded), the position, and the progress lines."""

    def __init__(self, writer: asyncpg.Connection, report: Progress) -> None:
        self.writer = writer
        self.replay = _Replay(SUFFIX)
        self.position = _Position()
        self.report = report
        self.count = 0
        self._writing: asyncio.Task[None] | None = None

    async def drain(self) -> None:
        """Wait for the batch being written."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def fold(self, events: list[_Event]) -> None:
        """Apply a batch in memory, then start writing its rows."""
        wanted = self.replay.cases_let_go(events)
        if wanted:
            await self.drain()  # they may be in the write under way
            await self.replay.load_cases(self.writer, wanted)
        apply, saw = self.replay.apply, self.position.saw
        for i, event in enumerate(events, start=1):
            apply(event)
            saw(event.global_position)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the writer sends its next statement
                if i % 1000 == 0:  # a line every PROGRESS_EVERY s, however slow a batch
                    self.report(self.count + i)
        self.count += len(events)
        self.report(self.count)
        writes = self.replay.take_batch()
        await self.drain()
        self._writing = asyncio.ensure_future(self.replay.write(self.writer, writes))

    async def flush(self) -> None:
        """Every case's row written, nothing in flight."""
        await self.drain()
        await self.replay.write(self.writer, self.replay.take_batch(all_cases=True))

    async def read(self, conn: asyncpg.Connection, query: str, *args: Any, batch: int) -> int:
        """Fold every event `query` gives, in batches (a cursor: `conn` is in
        a transaction), the next batch read while one is folded."""
        before = self.count
        cursor = await conn.cursor(query, *args)
        fetching = asyncio.ensure_future(cursor.fetch(batch))
        while True:
            rows = await fetching
            if not rows:
                break
            fetching = asyncio.ensure_future(cursor.fetch(batch))
            await self.fold([_Event(r) for r in rows])
        return self.count - before

    def after(self) -> tuple[int, list[int]]:
        return self.position.last, sorted(self.position.gaps)


async def rebuild(pool: asyncpg.Pool, *, batch: int = BATCH,
                  progress: TextIO | None = None) -> int:
    """Rebuild every read model of the app beside the live ones and swap
    them in; return how many events were applied. Appends go on meanwhile
    (issue 12 part 6) except for the short final step.

    1. Shadow tables: `<table>_rebuild` for each table of TABLES, like the
       live one (columns, defaults, constraints, indexes).
    2. Build: every event of one snapshot of `events` (a read-only
       REPEATABLE READ transaction, no lock), folded in memory and written
       to the shadow tables batch by batch on a second connection. The live
       projections go on writing the live tables inside each append.
    3. Catch up, without a lock: the events that snapshot did not show
       (after its last position, or in a gap below it), again and again
       while many come, at most CATCH_UP_ROUNDS times.
    4. Swap, in one transaction: LOCK events IN SHARE MODE (appends wait
       from here), the last catch-up, the tables kept in memory written,
       then each live table dropped and its shadow renamed in its place,
       with the live table's index names. Readers see the old tables until
       the commit, the new ones after it.

    Tables outside TABLES (the log, keys, contents, directory ...) are not
    touched."""
    async with pool.acquire() as writer, pool.acquire() as reader, _jsonb_text(writer), \
            _jsonb_text(reader):
        if not await writer.fetchval("SELECT pg_try_advisory_lock($1)", _REBUILD_LOCK_KEY):
            raise RebuildRunning("another rebuild of the read models is running")
        collecting = gc.isenabled()
        # Folding makes many short-lived objects and no cycles: the cyclic
        # collector's passes over the growing heap cost a fifth of the time.
        gc.disable()
        try:
            return await _rebuild(reader, writer, batch, progress)
        finally:
            if collecting:
                gc.enable()
            with contextlib.suppress(Exception):  # the connection may be gone
                await _drop_shadows(writer)
            with contextlib.suppress(Exception):
                await writer.execute("SELECT pg_advisory_unlock($1)", _REBUILD_LOCK_KEY)


@contextlib.asynccontextmanager
async def _jsonb_text(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """jsonb in binary on `conn` (store.db.binary_jsonb), but read as its
    JSON text, undecoded: pydantic parses the text itself (issue 15)."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="binary",
                              encoder=_jsonb_binary, decoder=_jsonb_text_of)
    try:
        yield
    finally:
        await conn.set_type_codec("jsonb", schema="pg_catalog",
                                  encoder=json.dumps, decoder=json.loads)


def _jsonb_text_of(data: bytes) -> bytes:
    return data[1:]  # after jsonb's binary format version


async def _drop_shadows(conn: asyncpg.Connection) -> None:
    await conn.execute("; ".join(f"DROP TABLE IF EXISTS {t}{SUFFIX}" for t in TABLES))


async def _rebuild(reader: asyncpg.Connection, writer: asyncpg.Connection, batch: int,
                   progress: TextIO | None) -> int:
    # The indexes that no write of the build needs (not unique: no ON
    # CONFLICT, no lookup by key; and the keys of _KEYED_LATER) are made
    # after it, in one pass each.
    later: list[tuple[str, str]] = []  # (table, statement)
    async with writer.transaction():
        await _drop_shadows(writer)  # a rebuild that was stopped left them
        for table in TABLES:
            await writer.execute(
                f"CREATE TABLE {table}{SUFFIX} (LIKE {table} INCLUDING ALL)")
            for name, definition in await writer.fetch(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = $1::regclass AND NOT x.indisunique",
                    f"{table}{SUFFIX}"):
                later.append((table, definition))
                await writer.execute(f'DROP INDEX "{name}"')
            if table in _KEYED_LATER:
                for name, definition in await writer.fetch(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = $1::regclass AND contype IN ('p', 'u')",
                        f"{table}{SUFFIX}"):
                    later.insert(0, (table, f'ALTER TABLE {table}{SUFFIX} ADD CONSTRAINT '
                                            f'"{name}" {definition}'))
                    await writer.execute(
                        f'ALTER TABLE {table}{SUFFIX} DROP CONSTRAINT "{name}"')

    report = Progress(progress, 0)
    run = _Run(writer, report)
    try:
        return await _build_and_swap(reader, writer, run, batch, later)
    finally:
        with contextlib.suppress(Exception):
            await run.drain()  # a failed batch's write, before the connection is used again


async def _build_and_swap(reader: asyncpg.Connection, writer: asyncpg.Connection, run: _Run,
                          batch: int, later: list[tuple[str, str]]) -> int:
    report = run.report
    async with reader.transaction(isolation="repeatable_read", readonly=True):
        report.total = await reader.fetchval("SELECT count(*) FROM events")
        await run.read(reader, _SELECT, batch=batch)
    for _ in range(CATCH_UP_ROUNDS):
        last, gaps = run.after()
        async with reader.transaction(isolation="repeatable_read", readonly=True):
            waiting = await reader.fetchval(
                "SELECT count(*) FROM events WHERE global_position > $1 "
                "OR global_position = ANY($2::bigint[])", last, gaps)
            if waiting:
                report.total += waiting
                report.say(f"catching up {waiting:,} events appended meanwhile")
                await run.read(reader, _SELECT_AFTER, last, gaps, batch=batch)
        if waiting < CATCH_UP_SMALL:
            break
    # The last cases' rows are written while the other tables' indexes are
    # made on the reader's connection (the build's writes to them are done).

    async def make(conn: asyncpg.Connection, statements: list[str]) -> None:
        for statement in statements:
            await conn.execute(statement)

    others = [t for t in TABLES if t != "message_cases"]
    indexing = asyncio.ensure_future(make(
        reader, [d for t, d in later if t in others] + [f"ANALYZE {t}{SUFFIX}" for t in others]))
    try:
        await run.flush()
    finally:
        await indexing
    await make(writer, [d for t, d in later if t == "message_cases"]
               + [f"ANALYZE message_cases{SUFFIX}"])

    async with writer.transaction():
        await writer.execute("LOCK TABLE events IN SHARE MODE")
        held = time.monotonic()
        last, gaps = run.after()
        rows = await writer.fetch(_SELECT_AFTER, last, gaps)
        if rows:
            report.total += len(rows)
            await run.fold([_Event(r) for r in rows])
        await run.flush()
        await run.replay.write_the_rest(writer)
        await _swap(writer)
    report.say(f"swapped in; appends waited at most {time.monotonic() - held:.2f} s")
    report(run.count, final=True)
    return run.count


async def _swap(conn: asyncpg.Connection) -> None:
    """Each shadow table in its live table's place, under the live table's
    index (and so constraint) names, in the caller's transaction."""
    for table in TABLES:
        names = {_index_shape(d): n for n, d in await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = $1", table)}
        # A live table's triggers (notifications -> outbox, issue 13) are not
        # copied by CREATE TABLE ... LIKE: made again on the table swapped in.
        triggers = [d for (d,) in await conn.fetch(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = $1::regclass AND NOT tgisinternal", table)]
        await conn.execute(f"DROP TABLE {table}")
        await conn.execute(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}")
        for definition in triggers:
            await conn.execute(definition)
        for name, definition in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = $1", table):
            wanted = names.get(_index_shape(definition))
            if wanted is not None and wanted != name:
                await conn.execute(f'ALTER INDEX "{name}" RENAME TO "{wanted}"')


def _index_shape(definition: str) -> str:
    """An index's definition without its name: `CREATE UNIQUE INDEX x ON
    public.t USING btree (a)` -> `UNIQUE ON public.t USING btree (a)`."""
    head, _, rest = definition.partition(" ON ")
    return ("UNIQUE " if head.startswith("CREATE UNIQUE") else "") + "ON " + rest
