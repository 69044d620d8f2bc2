"""R-14, "Admins cover holidays: a rota so that someone answers"
(Kristiansand: "Ha dedikerte personer som svarer, gjerne et team som svarer
på omgang ... Hva med ferier?").

An admin records an absence (from-to, the account's local dates) with a
cover: another of the account's admins or a named colleague. While the
admin is away, every reminder and escalation of the account meant for them
goes to the cover, and the event says so (`covering`: "cover for X"). An
account whose admins are all away is escalated to the unit's manager and
deputy the moment the last one leaves (a step of the deadline plan, so the
account's workflow sets its timer for it), and is shown escalated until one
is back (a second step at the end of the period).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.account.commands import CancelAbsence, RecordAbsence
from domain.account.events import AbsenceCancelled, AbsenceRecorded, AccountEvent
from domain.account.state import AccountState
from domain.account.values import Absence, Stage
from domain.core import DeadlineStep, NotAuthorised, RuleViolation, WrongStage
from domain.cover import absence_among
from domain.cover import cover_recipients as told_instead

ALL_AWAY = "all_admins_away"
ALL_BACK = "admins_back"
# The longest absence one record may hold (a year's leave is two records).
MAX_ABSENCE_DAYS = 366
# Ended absences stay in the state (for the page) this long, then only in the record.
KEEP_ENDED = timedelta(days=60)


def local_midnight(day: date, timezone: str) -> datetime:
    """The start of a local day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def absence_of(state: AccountState, person: str, at: datetime) -> Absence | None:
    """The absence `person` is on at `at`, if any."""
    return absence_among(state.absences, person, at)


def covering_for(state: AccountState, person: str, at: datetime) -> list[str]:
    """The absent admins `person` covers at `at`."""
    return sorted({a.person for a in state.absences if a.cover == person and a.away_at(at)})


def _managers(state: AccountState) -> tuple[str, ...]:
    a = state.authorities
    return tuple(x for x in (a.manager, a.deputy) if x)


def cover_recipients(state: AccountState, recipients: Iterable[str], at: datetime
                     ) -> tuple[list[str], dict[str, list[str]]]:
    """R-14: who is told at `at` instead of the absent among `recipients`
    (domain.cover.cover_recipients), the unit's manager and deputy last."""
    return told_instead(state.absences, recipients, at, _managers(state))


def all_away_periods(state: AccountState) -> list[tuple[datetime, datetime]]:
    """R-14: the stretches of time in which every admin of the account is
    away, from the absences on record (each [start, end))."""
    if not state.admins or not state.absences:
        return []
    known = state.absences_known_at
    points = sorted({a.starts_at for a in state.absences} | {a.ends_at for a in state.absences})
    periods: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    for point in points:
        everyone = all(absence_of(state, p, point) is not None for p in state.admins)
        if everyone and start is None:
            start = point
        elif not everyone and start is not None:
            # A period over before the change that revealed it (an admin
            # removed) was never one the manager could be told of.
            if known is None or point > known:
                periods.append((start, point))
            start = None
    return periods


def absence_plan(state: AccountState) -> list[DeadlineStep]:
    """R-14: the escalation to the manager when the last admin leaves, and,
    once escalated, the step that ends it when one is back."""
    if state.stage is not Stage.ACTIVE or state.legacy_rules:
        return []
    managers = _managers(state)
    plan: list[DeadlineStep] = []
    periods = all_away_periods(state)
    for start, _end in periods:
        plan.append(DeadlineStep(
            key=f"{ALL_AWAY}@{start.isoformat()}", name=ALL_AWAY, kind="escalate",
            due=start, recipients=managers, subject=start.isoformat()))
    since = state.all_away_since
    if since is not None:
        # Back at the end of the period it began, or at once where the
        # admins or absences changed so that it no longer holds.
        back = next((end for start, end in periods if start <= since < end), since)
        plan.append(DeadlineStep(
            key=f"{ALL_BACK}@{since.isoformat()}", name=ALL_BACK, kind="warn",
            due=back, recipients=managers, subject=since.isoformat()))
    return plan


def _require_active(state: AccountState) -> None:
    if state.stage is not Stage.ACTIVE:
        raise WrongStage(f"the account is {state.stage.value}, not active",
                         key="account.wrong_stage", params={"stage": state.stage.value})


def _require_self_or_manager(state: AccountState, actor: str, person: str) -> None:
    if actor != person and not state.authorities.is_manager(actor):
        raise NotAuthorised(
            f"{actor} may not record {person}'s absence: an admin records their own, the "
            "unit's manager or deputy anyone's (R-14)", key="absence.who")


def _overlaps(a: Absence, starts_at: datetime, ends_at: datetime) -> bool:
    return a.starts_at < ends_at and starts_at < a.ends_at


def record_absence(state: AccountState, command: RecordAbsence,
                   now: datetime) -> list[AccountEvent]:
    """R-14: an admin (or the manager for them) records an absence with a
    cover who is there meanwhile."""
    _require_active(state)
    actor, person, cover = command.actor, command.person, command.cover
    _require_self_or_manager(state, actor, person)
    if person not in state.admins:
        raise RuleViolation(f"{person} is not an admin of this account (R-14)",
                            key="absence.not_admin", params={"person": person})
    if command.ends_on < command.starts_on:
        raise RuleViolation("the absence ends before it begins (R-14)", key="absence.dates")
    today = now.astimezone(ZoneInfo(state.timezone)).date()
    if command.ends_on < today:
        raise RuleViolation("the absence is over already (R-14)", key="absence.past")
    if (command.ends_on - command.starts_on).days + 1 > MAX_ABSENCE_DAYS:
        raise RuleViolation(f"one absence is at most {MAX_ABSENCE_DAYS} days (R-14)",
                            key="absence.too_long", params={"days": str(MAX_ABSENCE_DAYS)})
    if cover == person:
        raise RuleViolation("someone else covers the absence (R-14)", key="absence.cover_self")
    if cover not in state.admins and not command.cover_in_directory:
        raise RuleViolation(
            f"{cover} is neither an admin of the account nor a colleague in the directory "
            "(R-14)", key="absence.cover_unknown", params={"person": cover})
    # Away from the start of the first day, or from now for one begun already
    # (an absence is never recorded in the past).
    starts_at = max(local_midnight(command.starts_on, state.timezone), now)
    ends_at = local_midnight(command.ends_on + timedelta(days=1), state.timezone)
    if any(a.person == person and _overlaps(a, starts_at, ends_at) for a in state.absences):
        raise RuleViolation(f"{person} is recorded away on some of these days already (R-14)",
                            key="absence.overlap", params={"person": person})
    if any(a.person == cover and _overlaps(a, starts_at, ends_at) for a in state.absences):
        raise RuleViolation(f"{cover} is away on some of these days too: choose another cover "
                            "(R-14)", key="absence.cover_away", params={"person": cover})
    absence = Absence(
        absence_id=f"A-{state.absences_recorded + 1}", person=person,
        starts_on=command.starts_on, ends_on=command.ends_on, starts_at=starts_at,
        ends_at=ends_at, cover=cover)
    return [AbsenceRecorded(at=now, actor=actor, absence=absence)]


def cancel_absence(state: AccountState, command: CancelAbsence,
                   now: datetime) -> list[AccountEvent]:
    """R-14: the admin (or the manager) calls an absence off, or ends it now."""
    _require_active(state)
    absence = next((a for a in state.absences if a.absence_id == command.absence_id), None)
    if absence is None or absence.ends_at <= now:
        raise RuleViolation(f"no current or coming absence {command.absence_id} (R-14)",
                            key="absence.none", params={"absence": command.absence_id})
    _require_self_or_manager(state, command.actor, absence.person)
    return [AbsenceCancelled(at=now, actor=command.actor, absence_id=absence.absence_id,
                             person=absence.person)]


def with_absence(absences: Sequence[Absence], absence: Absence, at: datetime) -> list[Absence]:
    """The absences after one is recorded: those long ended are dropped."""
    return [a for a in absences if a.ends_at > at - KEEP_ENDED] + [absence]


def without_absence(absences: Sequence[Absence], absence_id: str, at: datetime
                    ) -> list[Absence]:
    """Called off before it began, or ended at `at`."""
    out: list[Absence] = []
    for a in absences:
        if a.absence_id != absence_id:
            out.append(a)
        elif a.starts_at < at:
            out.append(a.model_copy(update={"ends_at": at}))
    return out
