"""One inbound message as a case (domain/message/), rule by rule.

Times are fixed and given as local wall-clock times of the municipality; the
domain returns UTC, and aware datetimes compare as instants. The default
message is a citizen's comment published on Thursday 2 April 2026, 15:00 in
Stockholm: the day before Good Friday, so Friday 3 (Långfredagen), the
weekend and Monday 6 April (Annandag påsk) are all non-working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.calendar import OfficeHours
from domain.cover import Absence
from domain.crisis_mode import CrisisMode
from domain.directory import Country
from domain.inbound import InboundMessage, MessageKind
from domain.message import (
    AbsencesUpdated,
    Acknowledge,
    AcknowledgementSent,
    AdminsUpdated,
    AnswerRule,
    ApplyCrisis,
    ApproveReply,
    AttachScreenshot,
    CloseCase,
    Command,
    ConfirmManualAction,
    DisposalDecision,
    DisposalScheduled,
    Dispose,
    DraftSubmitted,
    FireDue,
    Forward,
    Hide,
    MessageAnswered,
    MessageAuthorities,
    MessageDisposed,
    MessageEscalated,
    MessageEvent,
    MessageForwarded,
    MessageHidden,
    MessagePolicy,
    MessageReceived,
    MessageRedacted,
    MessageRegistered,
    MessageReminderSent,
    MessageState,
    ReceiveMessage,
    Redact,
    Register,
    RequestManualAction,
    Respond,
    SendBackReply,
    SignatureRule,
    StaffPostRecorded,
    Stage,
    SubmitDraft,
    UpdateAbsences,
    UpdateAdmins,
    Watch,
    deadline_plan,
    decide,
    evolve,
    for_the_record,
    next_deadline,
    parse_event,
    pending_steps,
)

STOCKHOLM, OSLO = ZoneInfo("Europe/Stockholm"), ZoneInfo("Europe/Oslo")

ADMINS = ("alva.adm", "bertil.adm")
ADMIN = ADMINS[0]
MANAGER = "maria.chef"
DEPUTY = "nils.vice"
COMMS = ("cecilia.komm", "david.komm")
REGISTRAR = "erik.arkiv"
OFFICER = "olof.handl"
STRANGER = "harald.annan"
SYSTEM = "kanalvakt"

MANAGERS = [MANAGER, DEPUTY]
MANAGERS_AND_COMMS = [MANAGER, DEPUTY, *sorted(COMMS)]
MANAGERS_AND_ADMINS = [MANAGER, DEPUTY, *sorted(ADMINS)]

OFFICE_HOURS = MessagePolicy(answer_rule=AnswerRule.OFFICE_HOURS)  # Mora's rule, 08:00–16:30
MORA = MessagePolicy(
    answer_rule=AnswerRule.OFFICE_HOURS,
    office_hours=OfficeHours.model_validate({"opens": "06:45", "closes": "16:30"}),
    officer_days=3,
    signature=SignatureRule.OPTIONAL,
)


def local(*args: int, tz: ZoneInfo = STOCKHOLM) -> datetime:
    return datetime(*args, tzinfo=tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


PUBLISHED = local(2026, 4, 2, 15)  # Thursday before Easter (skärtorsdagen)
AFTER_EASTER = local(2026, 4, 7, 9)  # Tuesday 7 April, the first working day after
ANSWER_REMINDER = local(2026, 4, 7, 10, 30)  # 1.5 h on Thursday + 2.5 h on Tuesday
ANSWER_DEADLINE = local(2026, 4, 7, 16, 30)  # closing time of the next working day
ANSWER_ESCALATION = local(2026, 4, 8, 16, 30)  # a second period: the working day after
DRAFTED_AT = local(2026, 4, 8, 10)


# --------------------------------------------------------------------------- helpers


def authorities() -> MessageAuthorities:
    return MessageAuthorities(
        admins=frozenset(ADMINS),
        manager=MANAGER,
        deputy=DEPUTY,
        communications=frozenset(COMMS),
        registrars=frozenset({REGISTRAR}),
    )


def inbound(published_at: datetime = PUBLISHED, **overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "platform": "facebook",
        "external_id": "123456789_987654321",
        "kind": MessageKind.COMMENT,
        "account_ref": "123456789",
        "author_id": "5550001",
        "author_name": "Karin Medborgare",
        "text": "När öppnar simhallen igen?",
        "published_at": published_at,
    }
    return InboundMessage(**(fields | overrides))


def receive_command(
    published_at: datetime = PUBLISHED, *, from_staff: bool = False, **overrides: Any
) -> ReceiveMessage:
    fields: dict[str, Any] = {
        "actor": SYSTEM,
        "case_id": "message:facebook:123456789_987654321",
        "account_id": "acc-1",
        "municipality_id": "umea",
        "country": Country.SE,
        "timezone": "Europe/Stockholm",
        "message": inbound(published_at, from_staff=from_staff),
        "policy": MessagePolicy(),
        "authorities": authorities(),
    }
    return ReceiveMessage(**(fields | overrides))


@dataclass
class Case:
    """A message's history: `do` decides a command at `now`, folds the events
    into `state` and keeps them in `events`; `decide` only looks."""

    now: datetime
    state: MessageState | None = None
    events: list[MessageEvent] = field(default_factory=list)

    @property
    def current(self) -> MessageState:
        assert self.state is not None
        return self.state

    def decide(self, command: Command, *, at: datetime | None = None) -> list[MessageEvent]:
        return decide(self.state, command, now=at or self.now)

    def do(self, command: Command, *, at: datetime | None = None) -> list[MessageEvent]:
        if at is not None:
            self.now = at
        new = decide(self.state, command, now=self.now)
        for event in new:
            self.state = evolve(self.state, event)
        self.events.extend(new)
        return new


def received(
    published_at: datetime = PUBLISHED, *, got_at: datetime | None = None, **overrides: Any
) -> Case:
    """A case just received; we got the message `got_at` (20 minutes after it
    was published unless told)."""
    case = Case(now=got_at or published_at + timedelta(minutes=20))
    case.do(receive_command(published_at, **overrides))
    return case


def acknowledge(actor: str = ADMIN) -> Acknowledge:
    return Acknowledge(actor=actor, text="Tack, vi återkommer inom tio arbetsdagar.")


def respond(actor: str = ADMIN, **overrides: Any) -> Respond:
    # the default policy requires a signature (the stricter value, R-43).
    return Respond(**({"actor": actor, "text": "Simhallen öppnar 1 maj.",
                       "signature": "Alva, Kultur- och fritid"} | overrides))


def forward(actor: str = ADMIN, officer: str = OFFICER) -> Forward:
    return Forward(
        actor=actor, officer=officer, note="Bygglovsfråga: avsändaren ombedd att mejla (R-25)"
    )


def draft(actor: str = OFFICER) -> SubmitDraft:
    return SubmitDraft(actor=actor, text="Ansökan handläggs; beslut väntas i maj.")


def register(actor: str = ADMIN, confidential: bool = False) -> Register:
    return Register(
        actor=actor, diarium_number="KS 2026/311", record_class="3.1.2", confidential=confidential
    )


def redact(actor: str = ADMIN, **overrides: Any) -> Redact:
    fields: dict[str, Any] = {
        "actor": actor,
        "category": "defamation_or_insult",
        "law": "BrB 5 kap. 1 §",
        "reason": "Pekar ut en namngiven anställd",
        "preserved_copy": True,
    }
    return Redact(**(fields | overrides))


def dispose(actor: str = ADMIN, decision_id: str = "SM-1") -> Dispose:
    return Dispose(actor=actor, decision_id=decision_id)


def hide(actor: str = ADMIN) -> Hide:
    return Hide(actor=actor, reason="Personnummer i kommentaren", preserved_copy=True)


def fire() -> FireDue:
    return FireDue(actor=SYSTEM)


KRISLEDNING = "krista.ledning"  # crisis management


def crisis_through_management(at: datetime = AFTER_EASTER) -> CrisisMode:
    """R-39 (Kristiansand): a crisis whose communication goes through crisis management."""
    return CrisisMode(crisis_id="umea-2", municipality_id="umea", declared_at=at,
                      answer_within=timedelta(hours=2), checkin_every=timedelta(hours=2),
                      notice="Se umea.se/kris, ring 090-16 10 00",
                      through_crisis_management=True, crisis_management=frozenset({KRISLEDNING}))


def case_at(stage: Stage, **overrides: Any) -> Case:
    """A case that has just reached `stage`; decisions are taken on Tuesday
    7 April 09:00, the first working day after Easter."""
    if stage is Stage.WATCHED:  # only where the municipality allows it
        overrides.setdefault("policy", MessagePolicy(watched_allowed=True))
    if stage is Stage.STAFF_POST:
        case = received(from_staff=True, **overrides)
    else:
        case = received(**overrides)
        case.now = AFTER_EASTER
    match stage:
        case Stage.ACKNOWLEDGED:
            case.do(acknowledge())
        case Stage.FORWARDED:
            case.do(forward())
        case Stage.DRAFTED:
            case.do(forward())
            case.do(draft(), at=DRAFTED_AT)
        case Stage.AWAITING_APPROVAL:
            case.do(ApplyCrisis(actor=SYSTEM, crisis=crisis_through_management()))
            case.do(respond())
        case Stage.ANSWERED:
            case.do(respond())
        case Stage.REDACTED:
            case.do(redact())
        case Stage.DISPOSAL_PENDING:
            case.do(dispose())
        case Stage.DISPOSED:
            case.do(dispose())
            case.do(fire(), at=case.current.dispose_on)
        case Stage.WATCHED:
            case.do(Watch(actor=ADMIN, reason="Ett inlägg i en pågående diskussion"))
        case Stage.CLOSED:
            case.do(CloseCase(actor=MANAGER, reason="Avsändaren har fått svar per telefon"))
    assert case.current.stage is stage
    return case


def types(events: list[MessageEvent]) -> list[type]:
    return [type(e) for e in events]


def plan(state: MessageState) -> list[tuple[str, str, datetime, list[str]]]:
    return [(s.name, s.kind, s.due, list(s.recipients)) for s in deadline_plan(state)]


def fold(events: list[MessageEvent]) -> MessageState | None:
    state = None
    for event in events:
        state = evolve(state, event)
    return state


NON_TERMINAL = [
    Stage.OPEN,
    Stage.ACKNOWLEDGED,
    Stage.FORWARDED,
    Stage.DRAFTED,
    Stage.AWAITING_APPROVAL,
    Stage.DISPOSAL_PENDING,
]
OUTCOMES = [Stage.ANSWERED, Stage.REDACTED, Stage.DISPOSED, Stage.WATCHED, Stage.CLOSED]


# ---------------------------------------------------------------------------


def test_r21_a_citizens_message_is_received_when_published_not_when_we_got_it() -> None:
    """R-21: the webhook was down over Easter; the comment published on Thursday
    reached us on Tuesday, yet it counts as received on Thursday, and its
    deadline runs from then."""
    case = received(got_at=AFTER_EASTER)
    [event] = case.events
    assert isinstance(event, MessageReceived)
    assert event.at == PUBLISHED and event.actor == SYSTEM
    state = case.current
    assert (state.stage, state.received_at, state.stage_entered_at) == (
        Stage.OPEN,
        PUBLISHED,
        PUBLISHED,
    )
    assert not state.message.from_staff and state.version == 1
    assert next(s.due for s in deadline_plan(state) if s.name == "answer_deadline") == (
        ANSWER_DEADLINE
    )


def test_r21_a_staff_post_is_recorded_terminal_and_without_deadlines() -> None:
    """R-21: a staff post is a record drawn up when published; nothing to answer,
    and it stays distinguishable from citizens' messages."""
    case = received(from_staff=True, got_at=AFTER_EASTER)
    [event] = case.events
    assert isinstance(event, StaffPostRecorded)
    assert event.at == PUBLISHED and event.message.from_staff
    state = case.current
    assert state.stage is Stage.STAFF_POST and state.stage.terminal
    assert (state.received_at, state.closed_at) == (PUBLISHED, PUBLISHED)
    assert deadline_plan(state) == [] and next_deadline(state) is None
    assert case.decide(fire(), at=local(2027, 1, 1)) == []
    with pytest.raises(WrongStage):
        case.decide(respond())


def test_r21_a_message_without_a_zone_on_its_publication_time_is_refused() -> None:
    """R-21: the publication time is the receipt time, so it must be an instant."""
    with pytest.raises(ValidationError):
        inbound(published_at=datetime(2026, 4, 2, 15))


def test_r21_a_norwegian_staff_post_keeps_its_country_and_zone() -> None:
    """R-21: the record of a staff post says where it was drawn up."""
    case = received(
        local(2028, 5, 16, 15, tz=OSLO),
        from_staff=True,
        country=Country.NO,
        timezone="Europe/Oslo",
        municipality_id="kristiansand",
    )
    assert (case.current.country, case.current.timezone) == (Country.NO, "Europe/Oslo")


def test_r21_the_same_message_is_received_once() -> None:
    with pytest.raises(WrongStage):
        received().decide(receive_command())


def test_no_decision_before_the_message_is_received() -> None:
    for command in (fire(), respond()):
        with pytest.raises(WrongStage):
            decide(None, command, now=AFTER_EASTER)
    with pytest.raises(ValueError, match="before the message was received"):
        evolve(None, AcknowledgementSent(at=AFTER_EASTER, actor=ADMIN, text="Tack"))


def test_r23_a_message_with_an_unknown_time_zone_is_refused() -> None:
    """R-23: deadlines are counted in the municipality's zone, so it must exist
    (as RequestAccount checks with domain.account.TimeZoneName)."""
    with pytest.raises(ValidationError, match="unknown time zone"):
        receive_command(timezone="Europe/Atlantis")


# ---------------------------------------------------------------------------


def test_r22_the_stages_without_an_outcome_are_exactly_these() -> None:
    """R-22: if a stage is added, it must be added to the timer check below."""
    assert {s for s in Stage if not s.terminal} == set(NON_TERMINAL)
    assert {s for s in Stage if s.terminal} == {*OUTCOMES, Stage.STAFF_POST}


@pytest.mark.parametrize("stage", NON_TERMINAL)
def test_r22_every_stage_without_an_outcome_has_a_timer(stage: Stage) -> None:
    """R-22: no message is left without a next deadline while it has no outcome."""
    state = case_at(stage).current
    deadline = next_deadline(state)
    # a drafted case also runs the citizen's own clock from receipt.
    assert deadline is not None and deadline > state.received_at
    assert pending_steps(state) == deadline_plan(state) != []


@pytest.mark.parametrize("stage", OUTCOMES)
def test_r22_each_outcome_is_terminal_and_closes_the_case(stage: Stage) -> None:
    case = case_at(stage)
    state = case.current
    assert state.stage.terminal and state.closed_at == case.now
    if stage is Stage.WATCHED:  # only its disposal is still to come
        assert [s.kind for s in deadline_plan(state)] == ["lapse"]
        return
    if stage is Stage.ANSWERED:  # its registration or disposal is still owed
        assert [s.name for s in deadline_plan(state)] == ["records_reminder",
                                                          "records_escalation"]
        return
    assert deadline_plan(state) == [] and next_deadline(state) is None


def every_command() -> list[Command]:
    """One of each command but FireDue, each from someone who could issue it."""
    return [
        receive_command(),
        hide(),
        acknowledge(),
        respond(),
        forward(),
        draft(),
        register(),
        redact(),
        dispose(),
        ConfirmManualAction(actor=ADMIN),
        AttachScreenshot(actor=ADMIN, upload_id="u-1", sha256="0" * 64, file_name="a.png"),
        ApproveReply(actor=KRISLEDNING),
        SendBackReply(actor=KRISLEDNING, comment="Hänvisa till kommunens webbplats"),
        Watch(actor=ADMIN, reason="Bara bevakas"),
        CloseCase(actor=MANAGER, reason="Besvarad per telefon"),
    ]


@pytest.mark.parametrize("stage", [*OUTCOMES, Stage.STAFF_POST])
def test_r22_after_an_outcome_every_decision_is_refused(stage: Stage) -> None:
    """FireDue and RequestManualAction are Kanalvakt's own: an answer is
    decided first, then a person is asked to post it by hand. ApplyCrisis is
    Kanalvakt's too, and changes nothing on an ended case (R-39, tests/domain/
    test_crisis.py)."""
    case = case_at(stage)
    commands = every_command()
    own = {FireDue, RequestManualAction, ApplyCrisis, UpdateAdmins, UpdateAbsences}
    assert {type(c) for c in commands} | own == set(get_args(Command))
    # an answered case is still registered, disposed of or closed.
    still = (Register, Dispose, CloseCase) if stage is Stage.ANSWERED else ()
    for command in commands:
        if isinstance(command, still):
            assert case.decide(command) != []
            continue
        with pytest.raises(WrongStage):
            case.decide(command)
    if stage is Stage.ANSWERED:
        assert case.decide(fire(), at=local(2030, 1, 1)) != []
        return
    if stage is Stage.WATCHED:  # disposed of when its date has come
        assert types(case.decide(fire(), at=local(2030, 1, 1))) == [MessageDisposed]
        return
    assert case.decide(fire(), at=local(2030, 1, 1)) == []


# --------------------------------------------------------------------------- R-23 office time


def test_r23_next_working_day_over_easter() -> None:
    """R-23 (Umeå): published Thursday 2 April 2026 15:00, the next working day is
    Tuesday 7 April (Good Friday, the weekend and Easter Monday skipped), so the
    answer is due at its closing time, 16:30 local (14:30 UTC). The reminder
    comes after 4 office hours (Thu 15:00–16:30 = 1.5 h, Tue 08:00 + 2.5 h =
    10:30) to the admins; the manager and deputy at the deadline; the
    communications unit a second period later (Wednesday 16:30)."""
    state = received().current
    assert plan(state) == [
        ("answer_reminder", "remind", ANSWER_REMINDER, sorted(ADMINS)),
        ("answer_deadline", "escalate", ANSWER_DEADLINE, MANAGERS),
        ("answer_escalation", "escalate", ANSWER_ESCALATION, MANAGERS_AND_COMMS),
    ]
    assert ANSWER_DEADLINE == utc(2026, 4, 7, 14, 30)
    assert next_deadline(state) == ANSWER_REMINDER


def test_r23_24_office_hours_from_a_friday_afternoon() -> None:
    """R-23 (Mora), office 08:00–16:30 = 8.5 h a day. Published Friday 16 January
    2026 15:00: Fri 1.5 h, Mon 8.5 (10), Tue 8.5 (18.5), leaving 5.5 h on
    Wednesday: due Wed 21 January 13:30 (12:30 UTC). Reminder after 4 h: Mon
    19 January 10:30. A second 24 h from Wed 13:30: Wed 3 h, Thu 8.5 (11.5),
    Fri 8.5 (20), Mon 26 January 08:00 + 4 h = 12:00."""
    state = received(local(2026, 1, 16, 15), policy=OFFICE_HOURS).current
    assert plan(state) == [
        ("answer_reminder", "remind", local(2026, 1, 19, 10, 30), sorted(ADMINS)),
        ("answer_deadline", "escalate", local(2026, 1, 21, 13, 30), MANAGERS),
        ("answer_escalation", "escalate", local(2026, 1, 26, 12), MANAGERS_AND_COMMS),
    ]
    assert local(2026, 1, 21, 13, 30) == utc(2026, 1, 21, 12, 30)


def test_r23_24_office_hours_from_easter_thursday() -> None:
    """R-23: from Thu 2 April 15:00: Thu 1.5 h, (Fri-Mon off), Tue 7 8.5 (10),
    Wed 8 8.5 (18.5), Thu 9 April 08:00 + 5.5 = 13:30. Second period from Thu
    13:30: Thu 3, Fri 10 8.5 (11.5), Mon 13 8.5 (20), Tue 14 April 12:00."""
    state = received(policy=OFFICE_HOURS).current
    assert [(s.name, s.due) for s in deadline_plan(state)] == [
        ("answer_reminder", ANSWER_REMINDER),
        ("answer_deadline", local(2026, 4, 9, 13, 30)),
        ("answer_escalation", local(2026, 4, 14, 12)),
    ]


def test_r23_office_hours_keep_local_time_across_the_change_to_summer_time() -> None:
    """Friday 27 March 2026 15:00 CET; clocks go forward on Sunday 29 March. Due
    Wed 1 April 13:30 local, now CEST: 11:30 UTC, not 12:30."""
    state = received(local(2026, 3, 27, 15), policy=OFFICE_HOURS).current
    due = next(s.due for s in deadline_plan(state) if s.name == "answer_deadline")
    assert due == utc(2026, 4, 1, 11, 30)


@pytest.mark.parametrize(
    "policy, published, deadline",
    [
        # an ordinary Thursday: due the next day
        (MessagePolicy(), local(2026, 6, 11, 15), local(2026, 6, 12, 16, 30)),
        # Midsommarafton (Fri 19 June) counts as a holiday for deadlines
        (MessagePolicy(), local(2026, 6, 18, 15), local(2026, 6, 22, 16, 30)),
        # Thu 1.5 h, Mon 22 8.5 (10), Tue 23 8.5 (18.5), Wed 24 June 08:00 + 5.5
        (OFFICE_HOURS, local(2026, 6, 18, 15), local(2026, 6, 24, 13, 30)),
    ],
    ids=["ordinary-thursday", "midsummer-next-working-day", "midsummer-office-hours"],
)
def test_r23_midsummer_eve_is_not_a_working_day_in_sweden(
    policy: MessagePolicy, published: datetime, deadline: datetime
) -> None:
    state = received(published, policy=policy).current
    assert next(s.due for s in deadline_plan(state) if s.name == "answer_deadline") == deadline


@pytest.mark.parametrize(
    "policy, country, tz, deadline",
    [
        (MessagePolicy(), Country.NO, OSLO, local(2028, 5, 18, 16, 30, tz=OSLO)),
        (MessagePolicy(), Country.SE, STOCKHOLM, local(2028, 5, 17, 16, 30)),
        # NO: Tue 1.5 h, Thu 18 8.5 (10), Fri 19 8.5 (18.5), Mon 22 May 08:00 + 5.5
        (OFFICE_HOURS, Country.NO, OSLO, local(2028, 5, 22, 13, 30, tz=OSLO)),
        # SE: Tue 1.5 h, Wed 17 8.5 (10), Thu 18 8.5 (18.5), Fri 19 May 08:00 + 5.5
        (OFFICE_HOURS, Country.SE, STOCKHOLM, local(2028, 5, 19, 13, 30)),
    ],
    ids=["NO-next-working-day", "SE-next-working-day", "NO-office-hours", "SE-office-hours"],
)
def test_r23_17_may_is_a_holiday_in_norway_only(
    policy: MessagePolicy, country: Country, tz: ZoneInfo, deadline: datetime
) -> None:
    """R-23: from Tuesday 16 May 2028 15:00, with 17 May on the Wednesday."""
    state = received(
        local(2028, 5, 16, 15, tz=tz),
        policy=policy,
        country=country,
        timezone=str(tz),
        municipality_id="kristiansand",
    ).current
    assert next(s.due for s in deadline_plan(state) if s.name == "answer_deadline") == deadline


def test_r23_the_next_working_day_follows_the_local_date_not_the_utc_date() -> None:
    """Published Thursday 11 June 2026 22:30 UTC, which is Friday 00:30 in
    Stockholm: the next working day is Monday 15 June, not Friday."""
    state = received(utc(2026, 6, 11, 22, 30)).current
    assert next(s.due for s in deadline_plan(state) if s.name == "answer_deadline") == (
        local(2026, 6, 15, 16, 30)
    )


def test_r23_nothing_fires_before_it_is_due() -> None:
    assert received().decide(fire(), at=ANSWER_REMINDER - timedelta(seconds=1)) == []


def test_r23_reminder_then_escalation_to_managers_then_to_communications() -> None:
    """R-23: each step fires once, at its due time, to its recipients."""
    case = received()

    [reminder] = case.do(fire(), at=ANSWER_REMINDER)
    assert isinstance(reminder, MessageReminderSent)
    assert (reminder.stage, reminder.due, reminder.recipients, reminder.at, reminder.actor) == (
        Stage.OPEN,
        ANSWER_REMINDER,
        sorted(ADMINS),
        ANSWER_REMINDER,
        SYSTEM,
    )
    assert case.current.fired_steps == [reminder.step]
    assert not case.current.escalated
    assert case.decide(fire()) == []  # the same moment again: not repeated
    assert next_deadline(case.current) == ANSWER_DEADLINE

    [deadline] = case.do(fire(), at=ANSWER_DEADLINE + timedelta(minutes=5))
    assert isinstance(deadline, MessageEscalated)
    assert (deadline.due, deadline.recipients) == (ANSWER_DEADLINE, MANAGERS)
    assert case.current.escalated and case.current.stage is Stage.OPEN
    assert case.decide(fire()) == []

    [escalation] = case.do(fire(), at=ANSWER_ESCALATION)
    assert isinstance(escalation, MessageEscalated)
    assert (escalation.due, escalation.recipients) == (ANSWER_ESCALATION, MANAGERS_AND_COMMS)
    assert len(set(case.current.fired_steps)) == 3
    # then the chase, a working day later (tests/domain/test_message_rules.py).
    assert next_deadline(case.current) == local(2026, 4, 9, 16, 30)


def test_r23_a_late_wake_up_fires_every_due_step_in_order_once() -> None:
    case = received()
    events = case.do(fire(), at=local(2026, 5, 1))
    assert types(events) == [MessageReminderSent, MessageEscalated, MessageEscalated]
    assert [e.due for e in events] == [  # type: ignore[union-attr]
        ANSWER_REMINDER,
        ANSWER_DEADLINE,
        ANSWER_ESCALATION,
    ]
    # the chase then fires once, for the latest one due (Thu 30 April),
    # not once for every working day missed.
    [chase] = case.do(fire())
    assert isinstance(chase, MessageEscalated) and chase.due == local(2026, 4, 30, 16, 30)
    assert case.decide(fire()) == []


def test_r23_a_new_stage_resets_escalation_and_starts_its_own_plan() -> None:
    case = received()
    case.do(fire(), at=ANSWER_DEADLINE)
    assert case.current.escalated
    case.do(acknowledge())
    assert not case.current.escalated
    assert {s.name for s in pending_steps(case.current)} == {
        "final_answer_reminder",
        "final_answer_deadline",
        "final_answer_escalation",
    }


def test_r23_acknowledge_first_then_the_final_answer_in_working_days() -> None:
    """R-23 "acknowledge receipt first": acknowledged Tuesday 7 April 09:00, the
    final answer is due in 10 Swedish working days (Tue 21 April 09:00), a
    reminder one working day before (Mon 20 April), the communications unit
    after 20 (Wed 6 May: 1 May is a holiday)."""
    case = received()
    [ack] = case.do(acknowledge(), at=AFTER_EASTER)
    assert isinstance(ack, AcknowledgementSent) and ack.actor == ADMIN
    state = case.current
    assert (state.stage, state.stage_entered_at, state.first_response_at) == (
        Stage.ACKNOWLEDGED,
        AFTER_EASTER,
        AFTER_EASTER,
    )
    assert plan(state) == [
        ("final_answer_reminder", "remind", local(2026, 4, 20, 16, 30), sorted(ADMINS)),
        ("final_answer_deadline", "escalate", local(2026, 4, 21, 16, 30), MANAGERS),
        ("final_answer_escalation", "escalate", local(2026, 5, 6, 16, 30),
         MANAGERS_AND_COMMS),
    ]
    case.do(respond(), at=local(2026, 4, 15, 14))
    assert case.current.stage is Stage.ANSWERED
    assert case.current.first_response_at == AFTER_EASTER  # the first response stays


def test_r23_answering_sets_the_first_response_and_closes() -> None:
    case = case_at(Stage.OPEN)
    [answer] = case.do(respond())
    assert isinstance(answer, MessageAnswered) and answer.drafted_by is None
    state = case.current
    assert (state.stage, state.answer, state.first_response_at, state.closed_at) == (
        Stage.ANSWERED,
        "Simhallen öppnar 1 maj.",
        AFTER_EASTER,
        AFTER_EASTER,
    )


@pytest.mark.parametrize("who", [MANAGER, COMMS[0], REGISTRAR, OFFICER, STRANGER])
@pytest.mark.parametrize("make", [acknowledge, respond], ids=["acknowledge", "respond"])
def test_r23_only_the_accounts_admins_acknowledge_or_answer(who: str, make: Any) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(make(who))


@pytest.mark.parametrize("stage", [Stage.DISPOSAL_PENDING])
def test_r23_acknowledge_only_an_open_message(stage: Stage) -> None:
    """Acknowledging once is test_message_rules (forwarded, R-24)."""
    with pytest.raises(WrongStage):
        case_at(stage).decide(acknowledge())


# ---------------------------------------------------------------------------


def test_r24_r25_an_admin_forwards_to_a_case_officer_whose_deadline_runs() -> None:
    """R-24/R-25: casework goes to a case officer. Forwarded Tue 7 April 09:00:
    the officer is reminded after 4 working days (Mon 13 April), and the
    managers and admins are told at 5 (Tue 14 April)."""
    case = received()
    [forwarded] = case.do(forward(), at=AFTER_EASTER)
    assert isinstance(forwarded, MessageForwarded) and forwarded.officer == OFFICER
    state = case.current
    assert (state.stage, state.officer, state.first_response_at) == (Stage.FORWARDED, OFFICER, None)
    assert plan(state)[:2] == [
        ("officer_reminder", "remind", local(2026, 4, 13, 16, 30), [OFFICER]),
        ("officer_deadline", "escalate", local(2026, 4, 14, 16, 30), MANAGERS_AND_ADMINS),
    ]
    case.do(fire(), at=local(2026, 4, 9))  # the citizen's own steps (test_message_rules)
    [reminder] = case.do(fire(), at=local(2026, 4, 13, 16, 30))
    assert isinstance(reminder, MessageReminderSent) and reminder.recipients == [OFFICER]
    [escalated] = case.do(fire(), at=local(2026, 4, 14, 16, 30))
    assert isinstance(escalated, MessageEscalated)
    assert (escalated.stage, escalated.recipients) == (Stage.FORWARDED, MANAGERS_AND_ADMINS)
    assert case.current.escalated


def test_r24_an_acknowledged_message_may_be_forwarded() -> None:
    case = case_at(Stage.ACKNOWLEDGED)
    case.do(forward())
    assert case.current.stage is Stage.FORWARDED


@pytest.mark.parametrize("who", [MANAGER, DEPUTY, COMMS[0], REGISTRAR, OFFICER, STRANGER])
def test_r24_only_admins_forward(who: str) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(forward(actor=who))


@pytest.mark.parametrize("stage", [Stage.DRAFTED, Stage.DISPOSAL_PENDING])
def test_r24_forward_only_an_open_or_acknowledged_message(stage: Stage) -> None:
    """Or a forwarded one, to another officer (test_message_rules, R-24)."""
    with pytest.raises(WrongStage):
        case_at(stage).decide(forward())


@pytest.mark.parametrize("who", [ADMIN, MANAGER, STRANGER, "olof.handl2"])
def test_r24_only_the_case_officer_drafts(who: str) -> None:
    with pytest.raises(NotAuthorised, match="R-24"):
        case_at(Stage.FORWARDED).decide(draft(actor=who))


@pytest.mark.parametrize("stage", [Stage.OPEN, Stage.ACKNOWLEDGED, Stage.DRAFTED])
def test_r24_no_draft_unless_forwarded(stage: Stage) -> None:
    with pytest.raises(WrongStage):
        case_at(stage).decide(draft())


def test_r24_the_officers_draft_is_published_by_an_admin() -> None:
    """R-24: the draft (Wed 8 April 10:00) starts the answer deadline again (by
    Thursday 9 April 16:30); an admin publishes it, recorded as the officer's."""
    case = case_at(Stage.FORWARDED)
    [drafted] = case.do(draft(), at=DRAFTED_AT)
    assert isinstance(drafted, DraftSubmitted) and drafted.actor == OFFICER
    state = case.current
    assert (state.stage, state.draft) == (Stage.DRAFTED, "Ansökan handläggs; beslut väntas i maj.")
    assert plan(state)[:3] == [
        ("answer_reminder", "remind", local(2026, 4, 8, 14), sorted(ADMINS)),
        ("answer_deadline", "escalate", local(2026, 4, 9, 16, 30), MANAGERS),
        ("answer_escalation", "escalate", local(2026, 4, 10, 16, 30), MANAGERS_AND_COMMS),
    ]
    # the citizen's own deadline (received Thu 2 April) runs beside it.
    assert plan(state)[3:] == [
        ("answer_reminder", "remind", ANSWER_REMINDER, sorted(ADMINS)),
        ("answer_deadline", "escalate", ANSWER_DEADLINE, MANAGERS),
        ("answer_escalation", "escalate", ANSWER_ESCALATION, MANAGERS_AND_COMMS),
    ]
    with pytest.raises(NotAuthorised):
        case.decide(respond(actor=OFFICER))  # the officer drafts; an admin publishes
    [answer] = case.do(respond(actor=ADMINS[1], text=state.draft))
    assert isinstance(answer, MessageAnswered)
    assert (answer.actor, answer.drafted_by) == (ADMINS[1], OFFICER)
    assert case.current.stage is Stage.ANSWERED


# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, signed, signature, kept",
    [
        (SignatureRule.REQUIRED, True, "Olof Handl, Bygglov", "Olof Handl, Bygglov"),
        (SignatureRule.REQUIRED, False, "Olof Handl, Bygglov", "Olof Handl, Bygglov"),
        (SignatureRule.OPTIONAL, True, "Alva, Kommunikation", "Alva, Kommunikation"),
        (SignatureRule.OPTIONAL, False, "Alva, Kommunikation", None),
        (SignatureRule.OPTIONAL, False, None, None),
        (SignatureRule.OFF, True, "Alva, Kommunikation", None),
        (SignatureRule.OFF, False, None, None),
    ],
)
def test_r26_the_signature_follows_the_accounts_rule(
    rule: SignatureRule, signed: bool, signature: str | None, kept: str | None
) -> None:
    """R-26: required (Kristiansand) always signs; optional (Mora) signs only
    when asked; off never signs."""
    case = case_at(Stage.OPEN, policy=MessagePolicy(signature=rule))
    [answer] = case.decide(respond(signed=signed, signature=signature))
    assert isinstance(answer, MessageAnswered) and answer.signature == kept


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_r26_a_required_signature_cannot_be_left_out(signature: str | None) -> None:
    case = case_at(Stage.OPEN, policy=MessagePolicy(signature=SignatureRule.REQUIRED))
    with pytest.raises(RuleViolation, match="R-26"):
        case.decide(respond(signed=True, signature=signature))


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", [ADMIN, REGISTRAR])
@pytest.mark.parametrize("stage", [Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED, Stage.DRAFTED])
def test_r28_an_admin_or_a_registrar_registers_without_changing_the_stage(
    who: str, stage: Stage
) -> None:
    case = case_at(stage)
    before = case.current
    [registered] = case.do(register(actor=who, confidential=True))
    assert isinstance(registered, MessageRegistered)
    assert (registered.diarium_number, registered.record_class) == ("KS 2026/311", "3.1.2")
    state = case.current
    assert (state.diarium_number, state.confidential) == ("KS 2026/311", True)
    assert (state.stage, state.stage_entered_at) == (stage, before.stage_entered_at)
    assert pending_steps(state) == pending_steps(before)


@pytest.mark.parametrize("who", [MANAGER, COMMS[0], OFFICER, STRANGER])
def test_r28_others_may_not_register(who: str) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(register(actor=who))


def test_r28_a_message_is_registered_once() -> None:
    case = case_at(Stage.OPEN)
    case.do(register())
    with pytest.raises(RuleViolation, match="already registered as KS 2026/311"):
        case.decide(register(actor=REGISTRAR))


def test_r28_no_registration_while_disposal_is_pending() -> None:
    with pytest.raises(WrongStage):
        case_at(Stage.DISPOSAL_PENDING).decide(register())


def test_r31_confidential_content_is_registered_before_it_is_deleted() -> None:
    """R-31: capture, register as a case, then delete."""
    case = case_at(Stage.OPEN)
    confidential = redact(category="confidential_information", law="OSL 21 kap. 7 §")
    with pytest.raises(RuleViolation, match="R-31"):
        case.decide(confidential)
    case.do(register(actor=REGISTRAR, confidential=True))
    [redacted] = case.do(confidential)
    assert isinstance(redacted, MessageRedacted)
    state = case.current
    assert (state.stage, state.redaction_category, state.diarium_number) == (
        Stage.REDACTED,
        "confidential_information",
        "KS 2026/311",
    )


# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "category, law, preserved_copy, action",
    [
        ("sexism_or_harassment", "BrB 4 kap. 7 §", True, "delete"),
        ("agitation_against_group", "BrB 16 kap. 8 §", True, "hide"),
        ("privacy_or_sensitive_data", "GDPR art. 9", True, "delete"),
        ("advertising", "Riktlinjer 4.2", False, "delete"),  # not kept
    ],
)
def test_r29_r30_r32_a_removal_records_category_law_and_copy(
    category: str, law: str, preserved_copy: bool, action: str
) -> None:
    """(Defamation, R-34, and advertising's decision, R-33, R-45: test_message_rules.)"""
    case = case_at(Stage.OPEN, policy=MessagePolicy(copy_before_every_deletion=False))
    command = redact(category=category, law=law, preserved_copy=preserved_copy, action=action,
                     decision_id="SM-2" if category == "advertising" else None)
    [redacted] = case.do(command)
    assert isinstance(redacted, MessageRedacted)
    assert (redacted.category, redacted.law, redacted.preserved_copy, redacted.action) == (
        category,
        law,
        preserved_copy,
        action,
    )
    assert (redacted.reason, redacted.actor, redacted.at) == (
        "Pekar ut en namngiven anställd",
        ADMIN,
        AFTER_EASTER,
    )
    state = case.current
    assert (state.stage, state.redaction_category, state.closed_at) == (
        Stage.REDACTED,
        category,
        AFTER_EASTER,
    )


@pytest.mark.parametrize("stage", [Stage.ACKNOWLEDGED, Stage.FORWARDED, Stage.DRAFTED])
def test_r29_a_message_in_progress_can_still_be_removed(stage: Stage) -> None:
    case = case_at(stage)
    case.do(redact())
    assert case.current.stage is Stage.REDACTED


@pytest.mark.parametrize("who", [MANAGER, DEPUTY, COMMS[0], REGISTRAR, OFFICER, STRANGER])
def test_r29_only_admins_remove(who: str) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(redact(actor=who))


@pytest.mark.parametrize("category", ["defamation_or_insult", "confidential_information"])
def test_r30_r31_r33_a_removal_without_a_preserved_copy_is_refused(category: str) -> None:
    case = case_at(Stage.OPEN)
    case.do(register(confidential=True))
    with pytest.raises(RuleViolation):
        case.decide(redact(category=category, preserved_copy=False))


def test_r30_r31_an_admin_or_the_system_hides_a_message_pending_a_decision() -> None:
    """R-30/R-31: hiding unpublishes at once with a copy kept; the case stays
    where it was, its deadlines still running, until someone decides."""
    case = case_at(Stage.OPEN)
    before = case.current
    [hidden] = case.do(hide(actor=SYSTEM))
    assert isinstance(hidden, MessageHidden)
    assert (hidden.reason, hidden.preserved_copy, hidden.actor) == (
        "Personnummer i kommentaren",
        True,
        SYSTEM,
    )
    state = case.current
    assert state.hidden and state.stage is Stage.OPEN
    assert pending_steps(state) == pending_steps(before)
    with pytest.raises(RuleViolation, match="already hidden"):
        case.decide(hide())


@pytest.mark.parametrize("who", [MANAGER, COMMS[0], REGISTRAR, OFFICER, STRANGER])
def test_r30_only_admins_or_the_system_hide(who: str) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(hide(actor=who))


IDENTITY_NUMBER_TEXT = "Mitt personnummer är 811218-9876, ring mig"


def test_r31_screening_flags_an_identity_number_for_hiding_on_receipt() -> None:
    """R-31 (the default screening policy): an identity number hides at once."""
    case = Case(now=AFTER_EASTER)
    command = receive_command().model_copy(update={"message": inbound(text=IDENTITY_NUMBER_TEXT)})
    [event] = case.do(command)
    assert isinstance(event, MessageReceived)
    assert event.auto_hide and "identity_number" in {f.kind for f in event.flags}


def test_r31_the_screening_result_is_kept_in_the_state() -> None:
    """R-31: the workflow hides on `state.auto_hide`, so the fold must keep it."""
    case = Case(now=AFTER_EASTER)
    command = receive_command().model_copy(update={"message": inbound(text=IDENTITY_NUMBER_TEXT)})
    [event] = case.do(command)
    assert isinstance(event, MessageReceived)
    state = case.current
    assert (state.auto_hide, state.flags, state.mood) == (True, event.flags, event.mood)


# ---------------------------------------------------------------------------


def test_r33_r35_disposal_keeps_the_item_until_its_date_then_logs_it() -> None:
    """R-33/R-35: under decision SM-1 (30 days) an admin disposes on Tue 7 April
    09:00; the item stays until 7 May 09:00; then the disposal-log entry names
    the decision, the date and who decided."""
    case = case_at(Stage.OPEN)
    [scheduled] = case.do(dispose())
    assert isinstance(scheduled, DisposalScheduled)
    dispose_on = AFTER_EASTER + timedelta(days=30)
    assert (scheduled.decision_id, scheduled.dispose_on, scheduled.actor) == (
        "SM-1",
        dispose_on,
        ADMIN,
    )
    state = case.current
    assert (state.stage, state.disposal_decision, state.disposal_decided_by, state.dispose_on) == (
        Stage.DISPOSAL_PENDING,
        "SM-1",
        ADMIN,
        dispose_on,
    )
    assert not state.stage.terminal and state.closed_at is None
    assert [(s.kind, s.due) for s in pending_steps(state)] == [("lapse", dispose_on)]
    assert next_deadline(state) == dispose_on

    assert case.decide(fire(), at=dispose_on - timedelta(seconds=1)) == []
    [disposed] = case.do(fire(), at=dispose_on)
    assert disposed == MessageDisposed(
        at=dispose_on, actor=SYSTEM, decision_id="SM-1", decided_by=ADMIN
    )
    state = case.current
    assert (state.stage, state.closed_at) == (Stage.DISPOSED, dispose_on)
    assert state.stage.terminal and next_deadline(state) is None
    assert case.decide(fire(), at=dispose_on + timedelta(days=1)) == []


def test_r35_disposal_under_the_second_decision_of_an_acknowledged_message() -> None:
    case = case_at(Stage.ACKNOWLEDGED)
    case.do(dispose(actor=ADMINS[1], decision_id="SM-2"))
    state = case.current
    assert (state.stage, state.disposal_decision, state.disposal_decided_by) == (
        Stage.DISPOSAL_PENDING,
        "SM-2",
        ADMINS[1],
    )


def test_r33_disposal_needs_a_decision_of_the_records_plan() -> None:
    with pytest.raises(RuleViolation, match=r"R-33.*'SM-9'.*known: SM-1, SM-2"):
        case_at(Stage.OPEN).decide(dispose(decision_id="SM-9"))


@pytest.mark.parametrize("stage", [Stage.FORWARDED, Stage.DRAFTED, Stage.DISPOSAL_PENDING])
def test_r33_dispose_only_while_open_or_acknowledged(stage: Stage) -> None:
    with pytest.raises(WrongStage):
        case_at(stage).decide(dispose())


def test_r28_r33_a_registered_message_is_never_disposed_of() -> None:
    case = case_at(Stage.OPEN)
    case.do(register(actor=REGISTRAR))
    with pytest.raises(RuleViolation, match="registered"):
        case.decide(dispose())


@pytest.mark.parametrize("who", [MANAGER, COMMS[0], REGISTRAR, OFFICER, STRANGER])
def test_r33_only_admins_dispose(who: str) -> None:
    with pytest.raises(NotAuthorised):
        case_at(Stage.OPEN).decide(dispose(actor=who))


# ---------------------------------------------------------------------------


def test_r43_moras_office_hours_and_officer_days_change_the_dates() -> None:
    """R-43, Mora: office 06:45–16:30 (9.75 h a day), 24 office hours, officer 3
    days. Published Friday 16 January 2026 15:00: Fri 1.5 h, Mon 9.75 (11.25),
    Tue 9.75 (21), Wed 21 January 06:45 + 3 h = 09:45 (not 13:30 as with
    08:00–16:30). Reminder: Mon 06:45 + 2.5 h = 09:15. Second period from Wed
    09:45: Wed 6.75, Thu 9.75 (16.5), Fri 23 January 06:45 + 7.5 h = 14:15.
    Forwarded Mon 19 January 10:00: officer reminded Wed 21, deadline Thu 22
    January (3 working days, not 5), each at closing time (issue 14)."""
    case = received(local(2026, 1, 16, 15), policy=MORA, municipality_id="mora")
    assert [(s.name, s.due) for s in deadline_plan(case.current)] == [
        ("answer_reminder", local(2026, 1, 19, 9, 15)),
        ("answer_deadline", local(2026, 1, 21, 9, 45)),
        ("answer_escalation", local(2026, 1, 23, 14, 15)),
    ]
    case.do(forward(), at=local(2026, 1, 19, 10))
    assert [(s.name, s.due) for s in deadline_plan(case.current)][:3] == [
        ("officer_reminder", local(2026, 1, 21, 16, 30)),
        ("officer_deadline", local(2026, 1, 22, 16, 30)),
        ("officer_escalation", local(2026, 1, 27, 16, 30)),  # on to the communications unit
    ]
    default = received(local(2026, 1, 16, 15), policy=OFFICE_HOURS)
    default.do(forward(), at=local(2026, 1, 19, 10))
    officer = [s for s in pending_steps(default.current) if s.name.startswith("officer")]
    assert officer[0].due == local(2026, 1, 23, 16, 30)  # 4 of 5 working days


def test_r43_the_disposal_decisions_are_the_accounts_own() -> None:
    policy = MessagePolicy(
        disposal_decisions=(
            DisposalDecision(id="MORA-G7", description="Gallras omedelbart", keep_days=0),
        )
    )
    case = case_at(Stage.OPEN, policy=policy)
    with pytest.raises(RuleViolation, match="known: MORA-G7"):
        case.decide(dispose(decision_id="SM-1"))
    [scheduled] = case.do(dispose(decision_id="MORA-G7"))
    assert isinstance(scheduled, DisposalScheduled) and scheduled.dispose_on == AFTER_EASTER
    assert types(case.do(fire())) == [MessageDisposed]
    assert case.current.stage is Stage.DISPOSED


def test_r43_an_account_without_disposal_decisions_disposes_of_nothing() -> None:
    case = case_at(Stage.OPEN, policy=MessagePolicy(disposal_decisions=()))
    with pytest.raises(RuleViolation, match="known: none"):
        case.decide(dispose())


def test_r43_duplicate_disposal_decision_ids_are_refused() -> None:
    twice = DisposalDecision(id="SM-1", description="Tillfälligt", keep_days=30)
    with pytest.raises(ValidationError, match="unique"):
        MessagePolicy(disposal_decisions=(twice, twice.model_copy(update={"keep_days": 90})))


@pytest.mark.parametrize(
    "settings",
    [
        {"answer_office_hours": 0},
        {"reminder_after_office_hours": 0},
        {"officer_days": 0},
        {"answer_after_acknowledgement_days": 0},
        {"office_hours": {"opens": "16:30", "closes": "08:00"}},
    ],
)
def test_r43_nonsensical_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MessagePolicy(**settings)


def test_r43_a_short_answer_period_puts_the_reminder_no_later_than_the_deadline() -> None:
    """R-43: with 2 office hours to answer, the 4-hour reminder would come after
    the deadline, so it is due with it (Thu 15:00 + 1.5 h, Tue 08:00 + 0.5 h)."""
    policy = MessagePolicy(answer_rule=AnswerRule.OFFICE_HOURS, answer_office_hours=2)
    state = received(policy=policy).current
    assert [s.due for s in deadline_plan(state)][:2] == [local(2026, 4, 7, 8, 30)] * 2


# --------------------------------------------------------------------------- JSON, time


@pytest.fixture
def tour() -> list[Case]:
    """Cases that between them produce every kind of event."""
    long = received()
    long.do(fire(), at=ANSWER_DEADLINE)
    long.do(acknowledge(), at=local(2026, 4, 8, 9))
    long.do(forward())
    long.do(register(actor=REGISTRAR))
    long.do(draft(), at=local(2026, 4, 9, 11))
    long.do(respond(signed=True, signature="Alva, Kommunikation", reply_id="r-1"))
    confidential = case_at(Stage.OPEN)
    confidential.do(hide(actor=SYSTEM))
    confidential.do(register(confidential=True))
    confidential.do(redact(category="confidential_information", law="OSL 21 kap. 7 §"))
    by_hand = case_at(Stage.OPEN)
    by_hand.do(respond())
    by_hand.do(RequestManualAction(actor=SYSTEM, action="reply",
                                   instruction="Publicera svaret i appen och bekräfta"))
    by_hand.do(ConfirmManualAction(actor=ADMIN, platform_object_id="tt-1"))
    # R-30, R-45 (issue 14): a deletion by hand, its screenshot uploaded first.
    removed = case_at(Stage.OPEN)
    removed.do(redact())
    removed.do(RequestManualAction(actor=SYSTEM, action="delete",
                                   instruction="Ta en skärmbild och ta bort kommentaren"))
    removed.do(AttachScreenshot(actor=ADMIN, upload_id="u-1", sha256="a" * 64,
                                file_name="kommentar.png"))
    removed.do(ConfirmManualAction(actor=ADMIN))
    crisis = case_at(Stage.OPEN)  # a crisis reaches the case, then ends
    crisis.do(ApplyCrisis(actor=SYSTEM, crisis=CrisisMode(
        crisis_id="umea-1", municipality_id="umea", declared_at=AFTER_EASTER,
        answer_within=timedelta(hours=2), checkin_every=timedelta(hours=2),
        notice="Se umea.se/kris, ring 090-16 10 00")))
    crisis.do(ApplyCrisis(actor=SYSTEM, crisis=None), at=local(2026, 4, 7, 11))
    # an admin appointed after the case began reaches it.
    assert isinstance(crisis.do(UpdateAdmins(actor=SYSTEM, admins=frozenset(
        {ADMIN, "nora.ny"})))[0], AdminsUpdated)
    # the account's absences and covers reach the case.
    assert isinstance(crisis.do(UpdateAbsences(actor=SYSTEM, absences=[Absence(
        absence_id="A-1", person=ADMIN, starts_on=date(2026, 4, 8), ends_on=date(2026, 4, 9),
        starts_at=utc(2026, 4, 7, 22), ends_at=utc(2026, 4, 9, 22),
        cover="nora.ny")]))[0], AbsencesUpdated)
    approval = case_at(Stage.AWAITING_APPROVAL)  # sent back, then approved
    approval.do(SendBackReply(actor=KRISLEDNING, comment="Hänvisa till webbplatsen"))
    approval.do(respond(text="Se umea.se/kris."))
    approval.do(ApproveReply(actor=KRISLEDNING, reply_id="fb-1"))
    return [long, confidential, by_hand, removed, case_at(Stage.DISPOSED),
            case_at(Stage.STAFF_POST),
            crisis, approval, case_at(Stage.WATCHED), case_at(Stage.CLOSED)]


def test_every_event_kind_round_trips_through_json(tour: list[Case]) -> None:
    """The projection stores events as JSON; each must come back equal."""
    events = [e for case in tour for e in case.events]
    union = get_args(get_args(MessageEvent)[0])
    assert {type(e) for e in events} == set(union)  # the tour really covers every kind
    for event in events:
        assert parse_event(event.model_dump(mode="json")) == event


def test_folding_stored_json_gives_the_same_state_and_pending_steps(tour: list[Case]) -> None:
    """The read model folds JSON; the workflow folds objects: same state, same step keys."""
    events = tour[0].events[:3]  # received, reminder and deadline fired: escalation pending
    from_json = fold([parse_event(e.model_dump(mode="json")) for e in events])
    original = fold(events)
    assert from_json is not None and original is not None
    assert from_json == original
    assert pending_steps(from_json) == pending_steps(original) != []
    for case in tour:
        assert fold([parse_event(e.model_dump(mode="json")) for e in case.events]) == case.current


@pytest.mark.parametrize("stage", list(Stage))
def test_state_round_trips_through_json_for_continue_as_new(stage: Stage) -> None:
    state = case_at(stage, policy=MORA.model_copy(update={"watched_allowed": True})).current
    back = MessageState.model_validate_json(state.model_dump_json())
    assert back == state
    assert pending_steps(back) == pending_steps(state)


def test_state_with_fired_steps_round_trips_and_does_not_fire_them_again() -> None:
    case = received()
    case.do(fire(), at=ANSWER_DEADLINE)
    back = MessageState.model_validate_json(case.current.model_dump_json())
    assert back == case.current
    assert decide(back, fire(), now=ANSWER_DEADLINE) == []


def test_version_counts_the_events(tour: list[Case]) -> None:
    for case in tour:
        assert case.current.version == len(case.events)


@pytest.mark.parametrize("stage", [None, Stage.OPEN])
def test_decide_refuses_a_naive_now(stage: Stage | None) -> None:
    naive = datetime(2026, 4, 7, 9)
    state = None if stage is None else case_at(stage).current
    for command in (receive_command(), fire(), respond()):
        with pytest.raises(ValueError, match="timezone-aware"):
            decide(state, command, now=naive)


# --------------------------------------------------------------------------- by hand


def test_r22_a_platform_action_by_hand_keeps_the_case_open_until_confirmed() -> None:
    """R-22 on platforms without an API: the answer is decided, a person is
    asked to post it, reminded by the admins' deadline, and the case is done
    only when an admin confirms."""
    case = case_at(Stage.OPEN)
    case.do(respond())
    case.do(RequestManualAction(actor=SYSTEM, action="reply", instruction="Posta svaret"))
    state = case.current
    assert state.stage is Stage.ANSWERED and not state.done
    assert [s.name for s in deadline_plan(state)] == ["manual_action_reminder",
                                                      "manual_action_deadline"]
    with pytest.raises(NotAuthorised):
        case.decide(ConfirmManualAction(actor=STRANGER))
    with pytest.raises(NotAuthorised):
        case.decide(RequestManualAction(actor=ADMIN, action="reply", instruction="x"))
    case.do(ConfirmManualAction(actor=ADMIN, platform_object_id="tt-42"))
    assert case.current.pending_action is None and not case.current.done  # its records
    case.do(register())
    assert case.current.done and next_deadline(case.current) is None
    with pytest.raises(WrongStage):
        case.decide(ConfirmManualAction(actor=ADMIN))


def test_issue10_the_log_keeps_no_citizen_identifier() -> None:
    """The append-only log's MessageReceived has no text, name or platform
    user id: they live in the content store, deleted by disposal (R-35); the
    case id is the log's reference to the author."""
    [received, *_] = decide(None, receive_command(), now=PUBLISHED)
    kept = for_the_record(received)
    assert received.message.author_id == "5550001"  # the workflow still has it
    assert kept.message.author_id is None and kept.message.author_name is None
    assert kept.message.text == "" and kept.case_id == received.case_id
    assert "5550001" not in kept.model_dump_json()


def test_issue9_r22_a_second_action_by_hand_waits_behind_the_first() -> None:
    """Issue 9 item 3 (R-22): the acknowledgement and then the answer, each
    to be posted by hand. The answer's request used to be refused ("a reply
    by hand is already awaited") after the platform step, wedging the case;
    now it waits behind the first, with its own reminders, and the case is
    done when both are confirmed."""
    case = case_at(Stage.OPEN)
    case.do(Acknowledge(actor=ADMIN, text="Tack, vi återkommer."))
    case.do(RequestManualAction(actor=SYSTEM, action="reply", instruction="Posta kvittensen"))
    case.do(respond())
    case.do(RequestManualAction(actor=SYSTEM, action="hide", instruction="Dölj"))
    state = case.current
    assert state.stage is Stage.ANSWERED and not state.done
    assert state.pending_instruction == "Posta kvittensen"
    assert [a.action for a in state.queued_actions] == ["hide"]
    case.do(ConfirmManualAction(actor=ADMIN, platform_object_id="tt-1"))
    state = case.current
    assert (state.pending_action, state.pending_instruction) == ("hide", "Dölj")
    assert state.queued_actions == [] and not state.done
    assert [s.name for s in deadline_plan(state)] == ["manual_action_reminder",
                                                      "manual_action_deadline"]
    case.do(ConfirmManualAction(actor=ADMIN))
    case.do(register())  # answered, then registered
    assert case.current.done and next_deadline(case.current) is None
