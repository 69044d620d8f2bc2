"""The monitoring duties of an active account as pure rules (domain/monitoring/)
and as the account's decisions (domain/account/): check-ins per working day
in office hours (R-15), the weekly legal floor (R-16), the posting rhythm
(R-18), inactivity and closure proposals (R-19), watch duty (R-20), settings
per municipality and account (R-43)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain import account as acc
from domain import monitoring as mon
from domain.calendar import OfficeHours, is_working_day
from domain.directory import Country
from domain.monitoring import CheckIn, DueStep, MonitoringPolicy, MonitoringState
from tests.domain.conftest import ADMIN_2, COMMS, DEPUTY, MANAGER, REQUESTER, STRANGER, SYSTEM

STOCKHOLM, OSLO = "Europe/Stockholm", "Europe/Oslo"
ADMINS = ("adm.a", "adm.b")
MANAGERS = ("chef", "vice")
COMMUNICATIONS = ("komm",)


def duty(country: Country = Country.SE, tz: str = STOCKHOLM, **policy: object) -> mon.Duty:
    return mon.Duty(country=country, timezone=tz, office=OfficeHours(),
                    policy=MonitoringPolicy.model_validate(policy), admins=ADMINS,
                    managers=MANAGERS, communications=COMMUNICATIONS)


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, tz: str = STOCKHOLM) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(tz))


def check_in(state: MonitoringState, at: datetime, d: mon.Duty, by: str = "adm.a"
             ) -> MonitoringState:
    return mon.with_check_in(state, CheckIn(checked_at=at, by=by), d, at)


def run_until(state: MonitoringState, d: mon.Duty, end: datetime
              ) -> tuple[MonitoringState, list[DueStep]]:
    """What the workflow does with no one checking: fire every step as it falls due."""
    fired: list[DueStep] = []
    for _ in range(5000):
        steps = [s for s in mon.due_steps(state, d) if s.due <= end]
        if not steps:
            break
        step = steps[0]
        fired.append(step)
        state = mon.with_step_fired(state, step.name, step.subject, d, step.due)
    return state, fired


def days_missed(fired: list[DueStep]) -> list[date]:
    return [date.fromisoformat(s.subject) for s in fired if s.name == mon.DAY_MISSED]


# ---------------------------------------------------------------------------


def test_r15_a_check_in_counts_only_within_office_hours_on_a_working_day() -> None:
    d = duty()
    counted = {
        local(2026, 11, 23, 7, 59): None,  # Monday, before opening
        local(2026, 11, 23, 8, 0): date(2026, 11, 23),
        local(2026, 11, 23, 16, 30): date(2026, 11, 23),
        local(2026, 11, 23, 16, 31): None,  # after closing
        local(2026, 11, 28, 10, 0): None,  # Saturday
        local(2026, 12, 24, 10, 0): None,  # julafton: not a working day in Sweden
    }
    for at, day in counted.items():
        assert mon.counts_for_day(CheckIn(checked_at=at, by="adm.a"), d) == day, at


def test_r15_midday_reminder_to_the_admins_when_no_check_in_by_noon() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 20, 15), d)  # activated Friday afternoon
    assert state.day_cursor == date(2026, 11, 23)  # duties from the next working day
    first = mon.due_steps(state, d)[0]
    assert (first.name, first.kind, first.recipients) == (mon.MIDDAY, "remind", ADMINS)
    assert first.due == local(2026, 11, 23, 12).astimezone(UTC) == datetime(
        2026, 11, 23, 11, tzinfo=UTC)
    # A check-in at 09:10 makes the midday reminder unnecessary; two settle the day.
    state = check_in(state, local(2026, 11, 23, 9, 10), d)
    assert mon.due_steps(state, d)[0].name == mon.AFTERNOON
    state = check_in(state, local(2026, 11, 23, 13, 0), d, by="adm.b")
    assert state.day_cursor == date(2026, 11, 24)
    nxt = mon.due_steps(state, d)[0]
    assert (nxt.name, nxt.subject) == (mon.MIDDAY, "2026-11-24")


def test_r15_afternoon_reminder_then_escalation_to_the_manager_when_the_day_ends_short() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 20, 15), d)
    state = check_in(state, local(2026, 11, 23, 10), d)  # one, not two
    state, fired = run_until(state, d, local(2026, 11, 23, 23).astimezone(UTC))
    assert [(s.name, s.kind, s.due.astimezone(ZoneInfo(STOCKHOLM)).time()) for s in fired] == [
        (mon.AFTERNOON, "remind", time(14, 30)),
        (mon.DAY_MISSED, "escalate", time(16, 30)),
    ]
    assert fired[0].recipients == ADMINS and fired[1].recipients == MANAGERS
    assert state.day_cursor == date(2026, 11, 24)
    assert mon.CHECK_IN_ESCALATION in state.open_escalations
    # The next check-in ends the escalation.
    state = check_in(state, local(2026, 11, 24, 8, 30), d)
    assert state.open_escalations == ()


def test_r15_weekends_and_swedish_holidays_have_no_check_in_duty() -> None:
    """Christmas: julafton, juldagen, annandag jul, nyårsafton, nyårsdagen and
    trettondedag jul carry no duty in Sweden; the days between do."""
    d = duty()
    state = mon.started(local(2026, 12, 18, 9), d)
    _, fired = run_until(state, d, local(2027, 1, 8, 23).astimezone(UTC))
    missed = days_missed(fired)
    assert missed == [day for day in (date(2026, 12, 21) + timedelta(n) for n in range(19))
                      if is_working_day(day, Country.SE)]
    assert date(2026, 12, 23) in missed and date(2026, 12, 28) in missed
    for free in (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26),
                 date(2026, 12, 27), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 6)):
        assert free not in missed
    # Midday and afternoon reminders and the escalation, once each per working day.
    names = [s.name for s in fired]
    assert sum(n in (mon.MIDDAY, mon.AFTERNOON, mon.DAY_MISSED) for n in names) == 3 * len(missed)
    # Beside them: R-16 every seven days (25/12, 1/1, 8/1), R-18 after each full week.
    assert names.count(mon.WEEKLY_FLOOR) == 3 and names.count(mon.POSTING_RHYTHM) == 2


def test_r15_midsummer_eve_is_free_in_sweden_but_not_in_norway() -> None:
    se, no = duty(), duty(Country.NO, OSLO)
    for d, tz, works in ((se, STOCKHOLM, False), (no, OSLO, True)):
        state = mon.started(local(2026, 6, 17, 9, tz=tz), d)  # Wednesday
        _, fired = run_until(state, d, local(2026, 6, 19, 23, tz=tz).astimezone(UTC))
        assert (date(2026, 6, 19) in days_missed(fired)) is works
        assert date(2026, 6, 18) in days_missed(fired)


def test_r15_seventeenth_of_may_is_free_in_norway_but_not_in_sweden() -> None:
    se, no = duty(), duty(Country.NO, OSLO)
    for d, tz, works in ((se, STOCKHOLM, True), (no, OSLO, False)):
        state = mon.started(local(2027, 5, 14, 9, tz=tz), d)  # Friday; 17 May 2027 a Monday
        _, fired = run_until(state, d, local(2027, 5, 18, 23, tz=tz).astimezone(UTC))
        assert (date(2027, 5, 17) in days_missed(fired)) is works
        assert date(2027, 5, 18) in days_missed(fired)


@pytest.mark.parametrize("tz, country", [(STOCKHOLM, Country.SE), (OSLO, Country.NO)])
def test_r15_reminders_keep_local_time_across_the_change_to_summer_time(
        tz: str, country: Country) -> None:
    """Clocks go forward on Sunday 29 March 2026: the midday reminder stays at
    12:00 local, so one hour earlier in UTC."""
    d = duty(country, tz)
    state = mon.started(local(2026, 3, 26, 9, tz=tz), d)  # Thursday
    _, fired = run_until(state, d, local(2026, 3, 30, 23, tz=tz).astimezone(UTC))
    midday = {s.subject: s.due for s in fired if s.name == mon.MIDDAY}
    assert midday["2026-03-27"] == datetime(2026, 3, 27, 11, tzinfo=UTC)
    assert midday["2026-03-30"] == datetime(2026, 3, 30, 10, tzinfo=UTC)
    closes = {s.subject: s.due for s in fired if s.name == mon.DAY_MISSED}
    assert closes["2026-03-30"] == datetime(2026, 3, 30, 14, 30, tzinfo=UTC)


def test_r15_check_times_outside_office_hours_move_inside_them() -> None:
    d = mon.Duty(country=Country.SE, timezone=STOCKHOLM,
                 office=OfficeHours(opens=time(12, 30), closes=time(14, 0)),
                 policy=MonitoringPolicy(), admins=ADMINS, managers=MANAGERS,
                 communications=COMMUNICATIONS)
    assert mon.check_times(d) == (time(12, 30), time(14, 0), time(14, 0))


def test_r15_r43_one_check_in_a_day_when_the_setting_says_so() -> None:
    d = duty(check_ins_per_day=1)
    state = mon.started(local(2026, 11, 20, 15), d)
    state = check_in(state, local(2026, 11, 23, 9), d)
    assert state.day_cursor == date(2026, 11, 24)


# ---------------------------------------------------------------------------


def test_r16_seven_days_without_any_check_in_escalate_to_the_communications_unit() -> None:
    d = duty()
    last = local(2026, 11, 21, 10)  # a Saturday: counts for R-16, not for R-15
    state = check_in(mon.started(local(2026, 11, 20, 9), d), last, d)
    assert state.last_check_in == last and check_ins_today(state, d, date(2026, 11, 21)) == 0
    floor = mon.weekly_floor_step(state, d)
    assert floor is not None
    assert floor.due == last + timedelta(days=7)
    assert floor.recipients == COMMUNICATIONS + MANAGERS and floor.kind == "escalate"
    state, fired = run_until(state, d, (last + timedelta(days=15)).astimezone(UTC))
    floors = [s.due for s in fired if s.name == mon.WEEKLY_FLOOR]
    assert floors == [last + timedelta(days=7), last + timedelta(days=14)]  # and again
    state = check_in(state, local(2026, 12, 7, 9), d)
    assert state.floor_escalations == 0
    again = mon.weekly_floor_step(state, d)
    assert again is not None and again.due == local(2026, 12, 14, 9)


def check_ins_today(state: MonitoringState, d: mon.Duty, day: date) -> int:
    return mon.check_ins_on(state, day, d)


def test_r16_the_floor_cannot_be_set_looser_than_a_week() -> None:
    with pytest.raises(ValidationError):
        MonitoringPolicy(days_without_check_in=8)


def test_r15_settings_must_be_consistent() -> None:
    with pytest.raises(ValidationError, match="midday"):
        MonitoringPolicy(midday_check=time(15), afternoon_check=time(14))
    with pytest.raises(ValidationError, match="reminded before"):
        MonitoringPolicy(watch_reminder_days=5, watch_escalation_days=5)


# ---------------------------------------------------------------------------


def post(state: MonitoringState, at: datetime, d: mon.Duty, n: int) -> MonitoringState:
    return mon.with_post(state, mon.PublishedPost(post_id=f"p{n}", published_at=at,
                                                  recorded_by="adm.a"), d, at)


def test_r18_fewer_than_three_posts_in_a_week_warn_the_admins_on_monday_morning() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 18, 9), d)  # Wednesday: the first full week is next
    assert state.week_cursor == date(2026, 11, 23)
    state = post(state, local(2026, 11, 24, 10), d, 1)
    state = post(state, local(2026, 11, 26, 10), d, 2)
    step = mon.posting_rhythm_step(state, d)
    assert step is not None
    assert (step.kind, step.subject, step.recipients) == ("warn", "2026-11-23", ADMINS)
    assert step.due == local(2026, 11, 30, 8)  # opening time, the Monday after
    # A third post in the week: nothing to warn about; the next week is evaluated.
    state = post(state, local(2026, 11, 29, 20), d, 3)
    step = mon.posting_rhythm_step(state, d)
    assert step is not None and step.subject == "2026-11-30"


def test_r18_the_week_after_easter_is_evaluated_on_the_first_working_day() -> None:
    d = duty()
    state = mon.started(local(2026, 3, 25, 9), d)
    step = mon.posting_rhythm_step(state, d)
    assert step is not None and step.subject == "2026-03-30"
    assert step.due == local(2026, 4, 7, 8)  # Easter Monday 6 April is a holiday


def test_r18_a_warning_moves_on_to_the_next_week_and_zero_turns_it_off() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 18, 9), d)
    state, fired = run_until(state, d, local(2026, 12, 15).astimezone(UTC))
    weeks = [s.subject for s in fired if s.name == mon.POSTING_RHYTHM]
    assert weeks == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert mon.posting_rhythm_step(mon.started(local(2026, 11, 18, 9), duty(posts_per_week=0)),
                                   duty(posts_per_week=0)) is None


# ---------------------------------------------------------------------------


def test_r19_sixty_days_without_posts_propose_closure_to_the_communications_unit() -> None:
    d = duty()
    activated = local(2026, 9, 1, 9)
    state = mon.started(activated, d)
    state = post(state, local(2026, 9, 10, 12), d, 1)
    step = mon.inactivity_step(state, d)
    assert step is not None
    assert (step.kind, step.recipients) == ("propose", COMMUNICATIONS)
    assert step.due == local(2026, 9, 10, 12) + timedelta(days=60)
    state = mon.with_step_fired(state, step.name, step.subject, d, step.due)
    assert state.closure_proposed_at == step.due
    assert mon.inactivity_step(state, d) is None  # proposed once, until decided


def test_r19_keeping_the_account_restarts_the_inactivity_clock() -> None:
    d = duty(inactivity_days=30)
    state = mon.started(local(2026, 9, 1, 9), d)
    state, _ = run_until(state, d, local(2026, 10, 2).astimezone(UTC))
    assert state.closure_proposed_at is not None
    kept = local(2026, 10, 5, 10)
    state = mon.with_kept(state, kept, "Used for the winter programme")
    assert state.closure_proposed_at is None and mon.INACTIVITY_ESCALATION not in (
        state.open_escalations)
    step = mon.inactivity_step(state, d)
    assert step is not None and step.due == kept + timedelta(days=30)


def test_r19_a_new_post_withdraws_the_proposal() -> None:
    d = duty(inactivity_days=30)
    state, _ = run_until(mon.started(local(2026, 9, 1, 9), d), d,
                         local(2026, 10, 2).astimezone(UTC))
    assert state.closure_proposed_at is not None
    state = post(state, local(2026, 10, 3, 9), d, 1)
    assert state.closure_proposed_at is None


# ---------------------------------------------------------------------------


def test_r20_an_open_watch_item_is_reminded_then_escalated_in_working_days() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 2, 9), d)
    reported = local(2026, 12, 23, 10)  # before Christmas: the holidays do not count
    state = mon.with_watch_item(state, mon.WatchItem(
        item_id=mon.next_watch_id(state), summary="Wrong date for the Lucia concert",
        seen_at=reported, reported_by="adm.a", reported_at=reported))
    steps = {s.name: s for s in mon.watch_steps(state, d)}
    assert steps[mon.WATCH_REMINDER].due == local(2026, 12, 29, 16, 30)  # closing time
    assert steps[mon.WATCH_REMINDER].recipients == MANAGERS
    assert steps[mon.WATCH_ESCALATION].due == local(2027, 1, 5, 16, 30)  # 31/12, 1/1 free
    assert steps[mon.WATCH_ESCALATION].recipients == MANAGERS + COMMUNICATIONS
    state = mon.with_step_fired(state, mon.WATCH_REMINDER, "W-1", d,
                               local(2026, 12, 29, 16, 30))
    assert [s.name for s in mon.watch_steps(state, d)] == [mon.WATCH_ESCALATION]
    state = mon.with_watch_resolved(state, "W-1", "chef", "Corrected", local(2026, 12, 30, 9))
    assert mon.watch_steps(state, d) == [] and state.open_watch_items == []
    assert mon.next_watch_id(state) == "W-2"


# --------------------------------------------------------------------------- the account


def active(walk: object) -> acc.AccountState:
    return walk(acc.Stage.ACTIVE).current  # type: ignore[operator, no-any-return]


def test_r15_only_the_accounts_admins_record_a_check_in(walk: object) -> None:
    """R-15: the admins check the account; anyone else is refused with nothing recorded."""
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    for who in (MANAGER, COMMS[0], STRANGER):
        with pytest.raises(acc.NotAuthorised, match="R-15"):
            journey.decide(acc.RecordCheckIn(actor=who))
    events = journey.do(acc.RecordCheckIn(actor=ADMIN_2))
    assert [type(e) for e in events] == [acc.CheckInRecorded]
    assert journey.current.monitoring.last_check_in_by == ADMIN_2


def test_r15_a_check_in_cannot_be_in_the_future_or_days_late(walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    with pytest.raises(acc.RuleViolation):
        journey.decide(acc.RecordCheckIn(actor=REQUESTER,
                                         checked_at=journey.now + timedelta(hours=1)))
    with pytest.raises(acc.RuleViolation):
        journey.decide(acc.RecordCheckIn(actor=REQUESTER,
                                         checked_at=journey.now - timedelta(days=2)))


def test_r15_r16_a_moderation_decision_counts_at_its_own_time(walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    tuesday_ten = datetime(2026, 3, 31, 8, tzinfo=UTC)  # 10:00 in Stockholm
    journey.do(acc.RecordCheckIn(actor=REQUESTER, source=mon.CheckInSource.MODERATION,
                                 case_id="message:facebook:1_2",
                                 checked_at=tuesday_ten - timedelta(minutes=3)),
               at=tuesday_ten)
    m = journey.current.monitoring
    assert m.check_ins[-1].source is mon.CheckInSource.MODERATION
    assert m.last_check_in == tuesday_ten - timedelta(minutes=3)


def test_r15_r16_a_missed_day_is_fired_on_the_record_and_escalates_the_account(
        walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]  # Monday 30 March
    evening = datetime(2026, 3, 31, 20, tzinfo=UTC)
    events = journey.do(acc.FireDueDeadlines(actor=SYSTEM), at=evening)
    assert [type(e) for e in events] == [acc.CheckInReminderSent, acc.CheckInReminderSent,
                                         acc.CheckInEscalated]
    escalation = events[-1]
    assert isinstance(escalation, acc.CheckInEscalated)
    assert escalation.day == date(2026, 3, 31) and escalation.recipients == [MANAGER, DEPUTY]
    state = journey.current
    assert acc.is_escalated(state) and not state.escalated
    journey.do(acc.RecordCheckIn(actor=REQUESTER), at=datetime(2026, 4, 1, 7, tzinfo=UTC))
    assert not acc.is_escalated(journey.current)


def test_r15_after_an_outage_a_missed_day_is_escalated_without_its_stale_reminders(
        walk: object) -> None:
    """R-15: woken only in the evening (a worker was down), the day's
    reminders are pointless - the day is over - and are not sent; the day's
    escalation is. A reminder whose day is still running is sent as ever."""
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]  # Monday 30 March
    evening = datetime(2026, 3, 31, 20, tzinfo=UTC)
    events = journey.do(acc.FireDueDeadlines(actor=SYSTEM, skip_superseded=True), at=evening)
    assert [type(e) for e in events] == [acc.CheckInEscalated]
    assert isinstance(events[0], acc.CheckInEscalated) and events[0].day == date(2026, 3, 31)
    assert acc.is_escalated(journey.current)
    # The next working day's midday reminder (after 12:00 in Stockholm, before
    # the afternoon check) is still due on its own, and sent.
    wednesday_one = datetime(2026, 4, 1, 11, tzinfo=UTC)
    events = journey.do(acc.FireDueDeadlines(actor=SYSTEM, skip_superseded=True),
                        at=wednesday_one)
    assert [type(e) for e in events] == [acc.CheckInReminderSent]
    assert isinstance(events[0], acc.CheckInReminderSent)
    assert events[0].day == date(2026, 4, 1)


def test_r15_many_missed_days_catch_up_as_one_escalation_each(walk: object) -> None:
    """R-15, R-16: three weeks without a worker: each missed working day is
    escalated once (no reminders), the weekly floor escalates, and nothing
    is left due."""
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    later = datetime(2026, 4, 20, 20, tzinfo=UTC)
    events = journey.do(acc.FireDueDeadlines(actor=SYSTEM, skip_superseded=True), at=later)
    assert not any(isinstance(e, acc.CheckInReminderSent) for e in events)
    days = [e.day for e in events if isinstance(e, acc.CheckInEscalated) and e.day is not None]
    assert len(days) == len(set(days)) and days == sorted(days)
    assert date(2026, 3, 31) in days and date(2026, 4, 20) in days
    assert date(2026, 4, 4) not in days  # a Saturday
    assert any(isinstance(e, acc.CheckInEscalated) and e.since is not None for e in events)
    assert journey.decide(acc.FireDueDeadlines(actor=SYSTEM, skip_superseded=True),
                          at=later) == []


def test_r18_posts_by_an_admin_or_the_connector_and_once_each(walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    with pytest.raises(acc.NotAuthorised, match="R-18"):
        journey.decide(acc.RecordPost(actor=STRANGER, post_id="1", published_at=journey.now))
    with pytest.raises(acc.RuleViolation, match="future"):
        journey.decide(acc.RecordPost(actor=SYSTEM, post_id="1",
                                      published_at=journey.now + timedelta(days=1)))
    assert len(journey.do(acc.RecordPost(actor=SYSTEM, post_id="104_1",
                                         published_at=journey.now))) == 1
    assert journey.decide(acc.RecordPost(actor=REQUESTER, post_id="104_1",
                                         published_at=journey.now)) == []


def test_r19_only_the_communications_unit_keeps_and_only_a_proposed_account(
        walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    with pytest.raises(acc.RuleViolation, match="no closure has been proposed"):
        journey.decide(acc.KeepAccount(actor=COMMS[0], reason="Still useful"))
    fired = journey.do(acc.FireDueDeadlines(actor=SYSTEM),
                       at=journey.now + timedelta(days=61))
    proposals = [e for e in fired if isinstance(e, acc.ClosureProposed)]
    assert len(proposals) == 1 and proposals[0].recipients == sorted(COMMS)
    with pytest.raises(acc.NotAuthorised, match="R-19"):
        journey.decide(acc.KeepAccount(actor=MANAGER, reason="Still useful"))
    journey.do(acc.KeepAccount(actor=COMMS[1], reason="Used in the autumn campaign"))
    assert journey.current.monitoring.kept_reason == "Used in the autumn campaign"
    # Or the communications unit closes it the lifecycle's way.
    assert journey.decide(acc.RequestClosure(actor=COMMS[0], reason="Inactive"))


def test_r20_admins_and_unit_staff_report_and_only_the_manager_resolves(walk: object) -> None:
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    item = {"summary": "A newspaper says the library closes", "seen_at": journey.now}
    with pytest.raises(acc.NotAuthorised, match="R-20"):
        journey.decide(acc.ReportWatchItem(actor=STRANGER, **item))
    journey.do(acc.ReportWatchItem(actor=STRANGER, in_unit=True, **item))  # unit staff
    journey.do(acc.ReportWatchItem(actor=ADMIN_2, link="https://example.org/x", **item))
    assert [w.item_id for w in journey.current.monitoring.open_watch_items] == ["W-1", "W-2"]
    with pytest.raises(acc.NotAuthorised):
        journey.decide(acc.ResolveWatchItem(actor=ADMIN_2, item_id="W-1", note="ok"))
    journey.do(acc.ResolveWatchItem(actor=DEPUTY, item_id="W-1", note="Answered in a post"))
    with pytest.raises(acc.RuleViolation, match="already resolved"):
        journey.decide(acc.ResolveWatchItem(actor=MANAGER, item_id="W-1", note="again"))
    with pytest.raises(acc.RuleViolation, match="no watch item"):
        journey.decide(acc.ResolveWatchItem(actor=MANAGER, item_id="W-9", note="?"))


def test_r43_monitoring_settings_from_the_municipality_then_the_account(
        walk: object) -> None:
    """R-43: the municipality's default (lifecycle.monitoring) applies until
    the manager or the communications unit sets the account's own."""
    journey = walk(acc.Stage.ACTIVE)  # type: ignore[operator]
    state = journey.current
    assert acc.monitoring_duty(state).policy == MonitoringPolicy()
    municipal = state.policy.model_copy(update={
        "monitoring": MonitoringPolicy(posts_per_week=5)})
    assert acc.monitoring_duty(state.model_copy(update={"policy": municipal})
                               ).policy.posts_per_week == 5
    with pytest.raises(acc.NotAuthorised):
        journey.decide(acc.ChangeMonitoringSettings(actor=ADMIN_2, policy=MonitoringPolicy()))
    own = MonitoringPolicy(check_ins_per_day=3, posts_per_week=1)
    journey.do(acc.ChangeMonitoringSettings(actor=COMMS[0], policy=own))
    assert acc.monitoring_duty(journey.current).policy == own
    assert journey.decide(acc.ChangeMonitoringSettings(actor=MANAGER, policy=own)) == []


def test_states_recorded_before_monitoring_still_decode(walk: object) -> None:
    """Continue-as-new and the read model carry old states: the new field defaults."""
    data = active(walk).model_dump(mode="json")
    del data["monitoring"]
    del data["policy"]["monitoring"]
    old = acc.AccountState.model_validate(data)
    assert old.monitoring == MonitoringState() and acc.monitoring_plan(old) == []


def test_status_shows_todays_check_ins_the_week_and_what_is_next() -> None:
    d = duty()
    state = mon.started(local(2026, 11, 20, 15), d)
    state = check_in(state, local(2026, 11, 23, 9), d)
    state = post(state, local(2026, 11, 23, 9, 30), d, 1)
    now = local(2026, 11, 23, 11).astimezone(UTC)
    s = mon.status(state, d, now)
    assert (s.today, s.working_day, s.check_ins_today, s.check_ins_required) == (
        date(2026, 11, 23), True, 1, 2)
    assert s.next_due is not None and s.next_due.name == mon.AFTERNOON
    assert (s.posts_this_week, s.posts_expected, s.days_inactive) == (1, 3, 0)


# ---------------------------------------------------------------------------


def test_r39_in_crisis_mode_check_ins_are_due_every_interval_around_the_clock() -> None:
    """R-39 with R-15: a crisis's interval runs also at night and at weekends:
    one interval without a check-in reminds the admins, each further one
    escalates to the manager and the communications unit; a check-in restarts it."""
    d = duty()
    state = mon.started(local(2026, 11, 2, 9), d)
    declared = local(2026, 11, 21, 22)  # Saturday night
    crisis = mon.CrisisCheckIns(every=timedelta(hours=2), declared_at=declared)
    steps = [s for s in mon.due_steps(state, d, crisis) if s.name == mon.CRISIS_CHECK_IN]
    assert [(s.kind, s.due, s.recipients) for s in steps] == [
        ("remind", declared + timedelta(hours=2), ADMINS)]
    state = mon.with_crisis_step_fired(state, steps[0].key, escalated=False)
    nxt = mon.crisis_check_in_step(state, d, crisis)
    assert nxt is not None and (nxt.kind, nxt.due) == ("escalate", declared + timedelta(hours=4))
    assert nxt.recipients == MANAGERS + COMMUNICATIONS
    state = mon.with_crisis_step_fired(state, nxt.key, escalated=True)
    assert mon.CHECK_IN_ESCALATION in state.open_escalations
    checked = local(2026, 11, 22, 3)
    state = check_in(state, checked, d)
    again = mon.crisis_check_in_step(state, d, crisis)
    assert again is not None and (again.kind, again.due) == ("remind", checked + timedelta(hours=2))
    assert all(s.name != mon.CRISIS_CHECK_IN for s in mon.due_steps(state, d))  # no crisis


def _counted_one_by_one(state: MonitoringState, day: date, d: mon.Duty,
                        before: time | None = None) -> int:
    """R-15's definition, check-in by check-in in local time."""
    return sum(1 for c in state.check_ins if mon.counts_for_day(c, d) == day
               and (before is None or c.checked_at.astimezone(d.zone).time() < before))


@pytest.mark.parametrize("office", [OfficeHours(), OfficeHours.model_validate(
    {"opens": "00:00", "closes": "23:59:59"})])
def test_r15_check_ins_counted_as_instants_equal_the_local_time_definition(
        office: OfficeHours) -> None:
    """Issue 15: check_ins_on compares instants instead of converting every
    check-in to local time; across a week around each change of summer time
    (and office hours that span the changes) it counts exactly what the
    definition does, with and without a `before`."""
    import random

    rng = random.Random(15)
    d = mon.Duty(country=Country.SE, timezone=STOCKHOLM, office=office,
                 policy=MonitoringPolicy(), admins=("adm.a",), managers=(MANAGER,),
                 communications=COMMS)
    for first in (date(2026, 3, 25), date(2026, 10, 21)):
        start = datetime.combine(first, time(0), tzinfo=UTC)
        moments = [start + timedelta(seconds=rng.randrange(7 * 86400)) for _ in range(400)]
        moments += [local(first.year, first.month, first.day + k, h, m)
                    for k in range(7) for h, m in ((8, 0), (16, 30), (12, 0), (2, 30), (3, 0))]
        state = MonitoringState(check_ins=tuple(CheckIn(checked_at=t, by="adm.a")
                                                for t in moments))
        for k in range(7):
            day = first + timedelta(days=k)
            for before in (None, time(12), time(14, 30), time(2, 30)):
                assert mon.check_ins_on(state, day, d, before=before) == \
                    _counted_one_by_one(state, day, d, before), (day, before)


def test_r15_check_ins_kept_by_the_fold_equal_the_definition_in_any_order() -> None:
    """Issue 15: with_check_in keeps the check-ins from one instant on by
    bisecting their sorted instants (carried from state to state) and a
    slice when the dropped ones are the oldest at the front; with check-ins
    recorded out of order (a late manual one, an earlier moderation one) it
    keeps exactly the ones the definition does: recorded in the last 14
    days or on or after the day cursor, in the order they were recorded,
    and counts the cursor's day as one by one in local time does."""
    import random

    rng = random.Random(1015)
    d = duty()
    state = mon.started(local(2026, 3, 2, 9), d)
    now = local(2026, 3, 3, 8)
    for _ in range(600):
        now += timedelta(minutes=rng.choice((5, 30, 90, 600)))
        at = now - timedelta(hours=rng.choice((0, 0, 0, 3, 30, 24 * 20)))
        before = state
        state = mon.with_check_in(state, CheckIn(checked_at=at, by="adm.a"), d, now)
        midnight = datetime.combine(before.day_cursor, time(0), tzinfo=d.zone)
        expected = tuple(c for c in (*before.check_ins, CheckIn(checked_at=at, by="adm.a"))
                         if c.checked_at >= now - timedelta(days=14)
                         or c.checked_at >= midnight)
        assert state.check_ins == expected
        assert mon.check_ins_on(state, state.day_cursor, d) == _counted_one_by_one(
            state, state.day_cursor, d)
