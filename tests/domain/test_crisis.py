"""Crisis mode (R-39) and storm flags (R-40): the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from domain import crisis as cr
from domain import message as msg
from domain.crisis_mode import CrisisMode, CrisisStatus, StormFlag, checkin_interval
from domain.screening import RecentMessage, StormPolicy
from store.directory import parse_directory_yaml
from tests.domain.test_message import (
    ANSWER_DEADLINE,
    PUBLISHED,
    SYSTEM,
    Case,
    receive_command,
    received,
    respond,
)
from tests.support import EXEMPELBY

STOCKHOLM = ZoneInfo("Europe/Stockholm")
KRISLEDNING = ("eva.marklund", "karin.holm")
COMMS = ("sofia.wallin", "ahmed.yusuf")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


POLICY = cr.CrisisPolicy(website="https://www.exempelby.se/kris", phone="0123-45 67 00")


DECLARED = local(2026, 4, 2, 9)


def mode(declared_at: datetime = DECLARED, *, units: frozenset[str] = frozenset(),
         within: timedelta = timedelta(hours=2)) -> CrisisMode:
    return CrisisMode(crisis_id="exempelby-1", municipality_id="exempelby",
                      declared_at=declared_at, units=units, answer_within=within,
                      checkin_every=timedelta(hours=2), notice=POLICY.notice_text())


def settings(**overrides: Any) -> cr.CrisisSettings:
    fields: dict[str, Any] = {
        "municipality_id": "exempelby", "policy": POLICY,
        "crisis_management": frozenset(KRISLEDNING), "communications": frozenset(COMMS),
        "units": frozenset({"kultur", "social", "kommunikation"}),
    }
    return cr.CrisisSettings(**(fields | overrides))


class Crisis:
    """The crisis stream of one municipality: `do` decides and folds."""

    def __init__(self, s: cr.CrisisSettings | None = None) -> None:
        self.events: list[cr.CrisisEvent] = []
        self.state: cr.CrisisState | None = None
        self.do(cr.LoadSettings(actor=SYSTEM, settings=s or settings()), local(2026, 4, 1, 8))

    @property
    def current(self) -> cr.CrisisState:
        assert self.state is not None
        return self.state

    def do(self, command: cr.Command, at: datetime) -> list[cr.CrisisEvent]:
        new = cr.decide(self.state, command, now=at)
        for e in new:
            self.state = cr.evolve(self.state, e)
        self.events.extend(new)
        return new


# --------------------------------------------------------------------------- R-39 deadlines


def test_r39_crisis_deadline_runs_around_the_clock_outside_office_hours() -> None:
    """R-39: received on Good Friday evening during a crisis, the answer is due
    two hours later (not on the next working day, Tuesday after Easter); the
    reminder comes halfway, at 20:00, on a public holiday."""
    friday = local(2026, 4, 3, 19)
    crisis = received(friday, crisis=mode(local(2026, 4, 3, 8))).current
    assert crisis.crisis_id == "exempelby-1"
    assert msg.answer_due(friday, crisis) == local(2026, 4, 3, 21)
    plan = {s.name: s.due for s in msg.deadline_plan(crisis)}
    assert plan == {"answer_reminder": local(2026, 4, 3, 20),
                    "answer_deadline": local(2026, 4, 3, 21),
                    "answer_escalation": local(2026, 4, 3, 23)}
    normal = received(friday).current
    assert msg.next_deadline(normal) == local(2026, 4, 7, 12)  # 4 office hours, after Easter


def test_r39_a_crisis_tightens_an_open_case_from_when_it_reached_it_and_lifts_again() -> None:
    """R-39: a message received on Thursday 15:00 before Easter is due Tuesday
    16:30; a crisis reaching it on Saturday 10:00 makes it due 12:00 that day
    (two hours from then, not from receipt); when the crisis ends, the
    normal deadline is back, and the case stays tagged for crisis management."""
    case = received()
    assert msg.answer_due(PUBLISHED, case.current) == ANSWER_DEADLINE
    saturday = local(2026, 4, 4, 10)
    applied = case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=mode(saturday)), at=saturday)
    assert [e.type for e in applied] == ["CrisisRulesApplied"]
    assert msg.next_deadline(case.current) == local(2026, 4, 4, 11)  # the reminder
    assert {s.name: s.due for s in msg.deadline_plan(case.current)}["answer_deadline"] \
        == local(2026, 4, 4, 12)
    assert case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=mode(saturday)), at=saturday) == []
    lifted = case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None), at=local(2026, 4, 4, 11, 30))
    assert [e.type for e in lifted] == ["CrisisRulesLifted"]
    assert {s.name: s.due for s in msg.deadline_plan(case.current)}["answer_deadline"] \
        == ANSWER_DEADLINE
    assert case.current.crisis is None and case.current.crisis_id == "exempelby-1"


def test_r39_a_crisis_never_loosens_a_deadline() -> None:
    """R-39: a crisis period longer than the normal one leaves the normal deadline."""
    case = received(crisis=mode(local(2026, 4, 2, 9), within=timedelta(days=2)))
    assert msg.answer_due(PUBLISHED, case.current) == local(2026, 4, 4, 15)
    long_policy = received(policy=msg.MessagePolicy(answer_rule=msg.AnswerRule.OFFICE_HOURS,
                                                    answer_office_hours=1),
                           crisis=mode(within=timedelta(days=2)))
    assert msg.answer_due(PUBLISHED, long_policy.current) == local(2026, 4, 2, 16)


def test_r39_a_changed_scope_of_the_same_crisis_keeps_the_deadline() -> None:
    case = received(crisis=mode(PUBLISHED))
    due = msg.answer_due(PUBLISHED, case.current)
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=mode(PUBLISHED, units=frozenset({"kultur"}))),
            at=PUBLISHED + timedelta(hours=1))
    assert msg.answer_due(PUBLISHED, case.current) == due == PUBLISHED + timedelta(hours=2)


def test_r39_crisis_rules_reach_a_case_only_from_kanalvakt_and_not_once_it_ended() -> None:
    case = received()
    with pytest.raises(msg.NotAuthorised):
        case.decide(msg.ApplyCrisis(actor="alva.adm", crisis=mode()))
    case.do(respond())
    assert case.decide(msg.ApplyCrisis(actor=SYSTEM, crisis=mode())) == []


def test_r39_staff_posts_carry_no_crisis_rules() -> None:
    staff = Case(now=PUBLISHED)
    staff.do(receive_command(from_staff=True, crisis=mode()))
    assert staff.current.stage is msg.Stage.STAFF_POST and staff.current.crisis is None


# --------------------------------------------------------------------------- R-39 scope


def test_r39_scope_is_the_whole_municipality_or_chosen_units() -> None:
    whole, culture = mode(), mode(units=frozenset({"kultur"}))
    assert whole.covers("kultur") and whole.covers("social")
    assert culture.covers("kultur") and not culture.covers("social")
    assert checkin_interval("kultur", culture) == timedelta(hours=2)
    assert checkin_interval("social", culture) is None
    assert checkin_interval("social", CrisisStatus(mode=whole)) == timedelta(hours=2)
    assert checkin_interval("social", None) is None
    c = Crisis()
    c.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Vattenläcka",
                          units=frozenset({"kultur"})), local(2026, 4, 2, 9))
    assert c.current.status_for("acc-k", "kultur").mode is not None
    assert c.current.status_for("acc-s", "social") == CrisisStatus()


def test_r39_a_crisis_names_only_units_of_the_municipality() -> None:
    with pytest.raises(cr.RuleViolation, match="no such unit"):
        Crisis().do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="x",
                                     units=frozenset({"hamnen"})), local(2026, 4, 2, 9))


# --------------------------------------------------------------------------- R-39 who switches


@pytest.mark.parametrize("person", [*COMMS, "anna.lind", "jonas.blom"])
def test_r39_only_crisis_management_declares_a_crisis(person: str) -> None:
    with pytest.raises(cr.NotAuthorised, match="R-39"):
        Crisis().do(cr.DeclareCrisis(actor=person, reason="Storm"), local(2026, 4, 2, 9))


def test_r39_crisis_management_declares_and_ends_on_the_record() -> None:
    c = Crisis()
    at = datetime(2026, 11, 21, 22, 0, 5, tzinfo=UTC)
    [declared] = c.do(cr.DeclareCrisis(actor=KRISLEDNING[1], reason="Stormen Gudrun"), at)
    assert isinstance(declared, cr.CrisisDeclared)
    assert declared.crisis.crisis_id == "exempelby-1-20261121T220005Z"
    assert declared.crisis.notice == ("Kommunen arbetar i krisläge. Aktuell information finns "
                                      "på https://www.exempelby.se/kris. Frågor besvaras på "
                                      "telefon 0123-45 67 00.")
    assert (declared.actor, declared.at, declared.reason) == (KRISLEDNING[1], at, "Stormen Gudrun")
    assert declared.crisis.answer_within == timedelta(hours=2)
    with pytest.raises(cr.WrongStage, match="already in crisis mode"):
        c.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="again"), at)
    with pytest.raises(cr.NotAuthorised):
        c.do(cr.EndCrisis(actor=COMMS[0], reason="over"), at)
    [ended] = c.do(cr.EndCrisis(actor=KRISLEDNING[0], reason="Strömmen tillbaka"),
                   at + timedelta(hours=5))
    assert isinstance(ended, cr.CrisisEnded) and ended.crisis_id == declared.crisis.crisis_id
    assert c.current.active is None
    with pytest.raises(cr.WrongStage, match="not in crisis mode"):
        c.do(cr.EndCrisis(actor=KRISLEDNING[0], reason="x"), at + timedelta(hours=6))
    [again] = c.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Ny storm"), at)
    assert isinstance(again, cr.CrisisDeclared)
    assert again.crisis.crisis_id != declared.crisis.crisis_id
    for event in c.events:
        assert cr.parse_event(event.model_dump(mode="json")) == event
    assert cr.fold([cr.parse_event(e.model_dump(mode="json")) for e in c.events]) == c.current


def test_r39_the_notice_points_to_the_website_and_phone() -> None:
    with pytest.raises(ValidationError, match="website"):
        cr.CrisisPolicy(notice="Vi har en kris. Ring oss på {phone}.")
    with pytest.raises(ValidationError, match="only"):
        cr.CrisisPolicy(notice="{website} {phone} {author}")


def test_r39_a_crisis_is_declared_without_configured_website_and_phone_and_says_so() -> None:
    """R-39 [002]: "Våra grundläggande kanaler för kommunikation vid kriser är
    webbplatsen ... och telefonnumret": a crisis cannot wait for settings;
    the municipality's own website and switchboard stand in, on the record."""
    without = Crisis(settings(policy=cr.CrisisPolicy(), home_page="https://www.exempelby.se"))
    events = without.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Storm"),
                        local(2026, 4, 2, 9))
    declared = events[0]
    assert isinstance(declared, cr.CrisisDeclared)
    assert declared.defaults_used == ["website", "phone"]
    assert "https://www.exempelby.se" in declared.crisis.notice
    assert "kommunens växel" in declared.crisis.notice
    configured = Crisis(settings())
    done = configured.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Storm"),
                         local(2026, 4, 2, 9))
    assert isinstance(done[0], cr.CrisisDeclared) and done[0].defaults_used == []


def test_r39_the_default_notice_is_in_bokmal_on_a_norwegian_municipalitys_accounts() -> None:
    """R-39 [004]: the default notice was Swedish on a Norwegian account."""
    norwegian = Crisis(settings(policy=cr.CrisisPolicy(website="https://www.fjordvik.kommune.no",
                                                       phone="+47 38 00 00 00"),
                                country="NO"))
    events = norwegian.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Flom"),
                          local(2026, 4, 2, 9))
    assert isinstance(events[0], cr.CrisisDeclared)
    notice = events[0].crisis.notice
    assert notice.startswith("Kommunen er i beredskap") and "Spørsmål" in notice
    assert "krisläge" not in notice


def test_r47_r43_in_a_crisis_the_communications_unit_publishes_by_default() -> None:
    """R-47 [004]: "I krisesituasjon har kommunikasjonsenheten ansvaret for å
    publisere": a crisis-mode setting, on by default (the stricter value)."""
    assert cr.CrisisPolicy().communications_publishes
    events = Crisis(settings()).do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="x"),
                                   local(2026, 4, 2, 9))
    assert isinstance(events[0], cr.CrisisDeclared)
    assert events[0].crisis.communications_publish
    assert events[0].crisis.communications == frozenset(COMMS)
    off = cr.CrisisPolicy(website="https://x.se", phone="0123-45", communications_publishes=False)
    events = Crisis(settings(policy=off)).do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="x"),
                                            local(2026, 4, 2, 9))
    assert isinstance(events[0], cr.CrisisDeclared) and not events[0].crisis.communications_publish


def test_r43_crisis_settings_come_from_the_directory_yaml() -> None:
    data = yaml.safe_load(EXEMPELBY.read_text(encoding="utf-8"))
    directory = parse_directory_yaml(yaml.safe_dump(data, allow_unicode=True))
    assert directory.crisis_management == KRISLEDNING
    assert directory.municipality.crisis.answer_within == timedelta(hours=2)
    assert directory.municipality.crisis.digest_every == timedelta(hours=1)
    assert "krisinformation" in directory.municipality.crisis.notice_text()
    data["crisis_management"] = ["nobody.here"]
    with pytest.raises(ValidationError, match=r"crisis_management\.0"):
        parse_directory_yaml(yaml.safe_dump(data, allow_unicode=True))
    data["crisis_management"] = list(KRISLEDNING)
    data["municipality"]["crisis"]["answer_within"] = "PT0S"
    with pytest.raises(ValidationError, match="answer_within"):
        parse_directory_yaml(yaml.safe_dump(data, allow_unicode=True))


# --------------------------------------------------------------------------- R-39 digests


def digest_case(n: int, at: datetime, **overrides: Any) -> cr.DigestCase:
    fields: dict[str, Any] = {"case_id": f"message:facebook:{n}", "account_id": "acc-k",
                              "unit_id": "kultur", "received_at": at, "critical": False,
                              "question": False, "open": True, "flagged": False}
    return cr.DigestCase(**(fields | overrides))


def test_r39_digest_of_questions_and_moods_in_the_period_and_scope() -> None:
    start, end = local(2026, 4, 2, 10), local(2026, 4, 2, 11)
    m = mode(units=frozenset({"kultur"}))
    cases = [
        digest_case(1, start, question=True),
        digest_case(2, start + timedelta(minutes=5), critical=True, flagged=True),
        digest_case(3, start + timedelta(minutes=9), critical=True, question=True, open=False,
                    account_id="acc-k2"),
        digest_case(4, end, question=True),  # the next period's
        digest_case(5, start - timedelta(seconds=1)),  # the last period's
        digest_case(6, start, unit_id="social", question=True),  # not in scope
    ]
    d = cr.compile_digest(m, cases, period_start=start, period_end=end, recipients=KRISLEDNING)
    assert (d.messages, d.questions, d.critical, d.neutral, d.open, d.flagged) == (3, 2, 2, 1, 2, 1)
    assert d.question_case_ids == ["message:facebook:1", "message:facebook:3"]
    assert d.critical_case_ids == ["message:facebook:2", "message:facebook:3"]
    assert [(a.account_id, a.messages) for a in d.by_account] == [("acc-k", 2), ("acc-k2", 1)]
    assert d.recipients == sorted(KRISLEDNING)
    assert d.digest_id == f"exempelby-1@{end.isoformat()}"


def test_r39_digests_follow_the_interval_and_stop_with_the_crisis() -> None:
    c = Crisis()
    at = local(2026, 4, 2, 9)
    assert cr.next_digest_due(c.current) is None
    c.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="x"), at)
    m = c.current.active
    assert m is not None and cr.next_digest_due(c.current) == at + timedelta(hours=1)
    d = cr.compile_digest(m, [], period_start=at, period_end=at + timedelta(hours=1),
                          recipients=KRISLEDNING)
    assert len(c.do(cr.RecordDigest(actor=SYSTEM, digest=d), at + timedelta(hours=1))) == 1
    assert c.do(cr.RecordDigest(actor=SYSTEM, digest=d), at + timedelta(hours=1)) == []
    assert cr.next_digest_due(c.current) == at + timedelta(hours=2)
    c.do(cr.EndCrisis(actor=KRISLEDNING[0], reason="over"), at + timedelta(hours=1, minutes=30))
    assert cr.next_digest_due(c.current) is None
    late = d.model_copy(update={"period_end": at + timedelta(hours=2)})
    assert c.do(cr.RecordDigest(actor=SYSTEM, digest=late), at + timedelta(hours=2)) == []


# --------------------------------------------------------------------------- R-40 storms


STORM = StormPolicy(window=timedelta(minutes=30), min_messages=5, min_critical_share=0.6)


def recent(now: datetime, critical: int, neutral: int, *, spread: timedelta = timedelta(minutes=1)
           ) -> list[RecentMessage]:
    return [RecentMessage(received_at=now - spread * i, critical=i < critical)
            for i in range(critical + neutral)]


def test_r40_storm_needs_enough_critical_messages_within_the_window() -> None:
    policy = POLICY.model_copy(update={"storm": STORM})
    now = local(2026, 4, 2, 12)
    assert cr.storm_check(recent(now, 4, 0), now, policy, None) is None  # too few
    assert cr.storm_check(recent(now, 3, 2), now, policy, None) is not None  # 3 of 5 = 0.6
    assert cr.storm_check(recent(now, 2, 3), now, policy, None) is None  # 2 of 5: criticism low
    spread = recent(now, 5, 0, spread=timedelta(minutes=8))  # 0, 8, 16, 24, 32 min old
    assert cr.storm_check(spread, now, policy, None) is None  # one fell out of the window
    signal = cr.storm_check(recent(now, 6, 1), now, policy, None)
    assert signal is not None and (signal.messages, signal.critical) == (7, 6)


def test_r40_storm_is_flagged_once_per_storm_with_a_cool_down() -> None:
    policy = POLICY.model_copy(update={"storm": STORM, "storm_cooldown": timedelta(hours=6)})
    c = Crisis(settings(policy=policy))
    now = local(2026, 4, 2, 12)
    signal = cr.storm_check(recent(now, 5, 0), now, policy, None)
    assert signal is not None
    [flagged] = c.do(cr.FlagStorm(actor=SYSTEM, account_id="acc-k", unit_id="kultur",
                                  signal=signal), now)
    assert isinstance(flagged, cr.StormFlagged)
    assert flagged.recipients == sorted(COMMS)  # raised to the communications unit
    assert flagged.flag.until == now + timedelta(hours=6)
    later = now + timedelta(hours=1)
    # The feeder does not even ask while the flag cools down ...
    assert cr.storm_check(recent(later, 9, 0), later, policy, flagged.flag.until) is None
    # ... and if two feeders raced, the workflow flags it once.
    assert c.do(cr.FlagStorm(actor=SYSTEM, account_id="acc-k", unit_id="kultur",
                             signal=signal), later) == []
    other = c.do(cr.FlagStorm(actor=SYSTEM, account_id="acc-s", unit_id="social",
                              signal=signal), later)
    assert len(other) == 1  # another account's storm is its own
    assert c.current.status_for("acc-k", "kultur").storm == flagged.flag
    assert cr.next_cooldown_end(c.current) == now + timedelta(hours=6)
    assert c.do(cr.FireDue(actor=SYSTEM), now + timedelta(hours=5)) == []
    cooled = c.do(cr.FireDue(actor=SYSTEM), now + timedelta(hours=6))
    assert [(e.type, getattr(e, "account_id", None)) for e in cooled] == [
        ("StormCooledDown", "acc-k")]
    assert c.current.status_for("acc-k", "kultur").storm is None
    after = now + timedelta(hours=7)
    assert cr.storm_check(recent(after, 5, 0), after, policy, None) is not None
    assert len(c.do(cr.FlagStorm(actor=SYSTEM, account_id="acc-k", unit_id="kultur",
                                 signal=signal), after)) == 1


def test_r40_storm_flag_round_trips() -> None:
    flag = StormFlag(flagged_at=local(2026, 4, 2, 12), until=local(2026, 4, 2, 18), messages=5,
                     critical=4)
    status = CrisisStatus(mode=mode(), storm=flag)
    assert CrisisStatus.model_validate(status.model_dump(mode="json")) == status
    assert status.notice == POLICY.notice_text()


def test_r39_a_change_of_crisis_management_during_a_crisis_reaches_its_rules() -> None:
    """R-39, R-43 (Kristiansand): the directory changes crisis management
    while a crisis runs; the crisis names the new approvers on the record
    (CrisisApproversChanged), the same settings again change nothing, and
    outside a crisis only the settings are recorded."""
    through = POLICY.model_copy(update={"communication_through_crisis_management": True})
    c = Crisis(settings(policy=through))
    c.do(cr.DeclareCrisis(actor=KRISLEDNING[0], reason="Skred"), local(2026, 4, 2, 9))
    before = c.current.active
    assert before is not None and before.crisis_management == frozenset(KRISLEDNING)

    joined = settings(policy=through, crisis_management=frozenset({KRISLEDNING[0], "lena.ek"}))
    events = c.do(cr.LoadSettings(actor=SYSTEM, settings=joined), local(2026, 4, 2, 10))
    assert [e.type for e in events] == ["CrisisSettingsLoaded", "CrisisApproversChanged"]
    changed = events[1]
    assert isinstance(changed, cr.CrisisApproversChanged)
    assert changed.crisis.crisis_management == {KRISLEDNING[0], "lena.ek"}
    assert changed.crisis.crisis_id == before.crisis_id
    assert changed.crisis.declared_at == before.declared_at  # the same crisis
    assert c.current.active == changed.crisis
    assert c.do(cr.LoadSettings(actor=SYSTEM, settings=joined), local(2026, 4, 2, 11)) == []

    # The setting switched off mid-crisis: replies no longer wait.
    off = c.do(cr.LoadSettings(actor=SYSTEM, settings=settings(policy=POLICY)),
               local(2026, 4, 2, 12))
    assert [e.type for e in off] == ["CrisisSettingsLoaded", "CrisisApproversChanged"]
    assert c.current.active is not None
    assert not c.current.active.through_crisis_management
    assert c.current.active.crisis_management == frozenset()

    calm = Crisis(settings(policy=through))
    assert [e.type for e in calm.do(cr.LoadSettings(actor=SYSTEM, settings=joined),
                                    local(2026, 4, 2, 10))] == ["CrisisSettingsLoaded"]
    for event in c.events:
        assert cr.parse_event(event.model_dump(mode="json")) == event
    assert cr.fold([cr.parse_event(e.model_dump(mode="json")) for e in c.events]) == c.current
