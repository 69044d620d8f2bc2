"""R-37, R-38, R-43: a snapshot of a platform Kanalvakt cannot read waits for
screenshots: when it reminds and escalates (working days, the municipality's
settings), who may end the wait and how. Pure rules, fixed dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain import account as acc
from domain import snapshot as snap
from domain.country import Country

PEOPLE = snap.ScreenshotPeople(admins=("elin.strand", "johan.berg"),
                               managers=("anna.lind", "johan.berg"),
                               communications=("ahmed.yusuf", "sofia.wallin"))
# Thursday 18 December 2025, 10:00 in Stockholm (09:00 UTC): Christmas and
# New Year's holidays and two weekends follow.
THURSDAY = datetime(2025, 12, 18, 9, 0, tzinfo=UTC)
TZ = "Europe/Stockholm"


def wait(**kw: object) -> snap.ScreenshotWait:
    fields: dict[str, object] = {"snapshot_id": "snapshot:exempelby:x-tiktok:final",
                                 "account_id": "a1", "requested_at": THURSDAY,
                                 "people": PEOPLE}
    return snap.ScreenshotWait.model_validate(fields | kw)


def test_r37_screenshot_wait_reminds_admins_then_manager_then_communications_in_working_days(
        ) -> None:
    plan = snap.screenshot_wait_plan(THURSDAY, snap.SnapshotPolicy(), Country.SE, TZ, PEOPLE)
    assert [(st.key, st.kind, st.recipients) for st in plan] == [
        ("screenshots_reminder", "remind", ("elin.strand", "johan.berg")),
        ("screenshots_escalation", "escalate", ("anna.lind", "johan.berg")),
        ("screenshots_communications", "escalate", ("ahmed.yusuf", "sofia.wallin"))]
    # 3 working days: Fri 19, Mon 22, Tue 23 December (24-26 are not working
    # days in Sweden). 5: Mon 29, Tue 30 (31 December and 1 January are not).
    # 10: Fri 2, Mon 5, (6 January Epiphany) Wed 7, Thu 8, Fri 9 January.
    # Same wall-clock time, 10:00 in Stockholm.
    assert [st.due for st in plan] == [
        datetime(2025, 12, 23, 9, 0, tzinfo=UTC), datetime(2025, 12, 30, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 9, 9, 0, tzinfo=UTC)]


def test_r43_screenshot_wait_follows_the_municipalitys_settings_and_norways_calendar() -> None:
    policy = snap.SnapshotPolicy(screenshots_reminder_days=1, screenshots_escalation_days=2,
                                 screenshots_communications_days=4)
    plan = snap.screenshot_wait_plan(THURSDAY, policy, Country.NO, "Europe/Oslo", PEOPLE)
    # Norway: 24 December is a working day; 25 and 26 are holidays.
    assert [st.due.date().isoformat() for st in plan] == [
        "2025-12-19", "2025-12-22", "2025-12-24"]


def test_r43_screenshot_settings_must_escalate_in_order() -> None:
    with pytest.raises(ValidationError, match="screenshots_reminder_days <"):
        snap.SnapshotPolicy(screenshots_reminder_days=5, screenshots_escalation_days=5)
    with pytest.raises(ValidationError):
        snap.SnapshotPolicy(screenshots_reminder_days=0)


def test_r37_a_step_without_anybody_goes_to_the_communications_unit() -> None:
    lonely = snap.ScreenshotPeople(communications=("sofia.wallin",))
    plan = snap.screenshot_wait_plan(THURSDAY, snap.SnapshotPolicy(), Country.SE, TZ, lonely)
    assert all(st.recipients == ("sofia.wallin",) for st in plan)


def test_r37_admins_and_communications_say_done_once_a_screenshot_is_uploaded() -> None:
    now = THURSDAY
    for who in ("elin.strand", "sofia.wallin"):
        done = snap.decide_screenshots_done(wait(), snap.ScreenshotsDone(actor=who), now=now,
                                            uploads=2)
        assert (done.actor, done.screenshots) == (who, 2)
    with pytest.raises(acc.NotAuthorised):  # the manager is told, but does not upload
        snap.decide_screenshots_done(wait(), snap.ScreenshotsDone(actor="anna.lind"),
                                     now=now, uploads=2)
    with pytest.raises(acc.RuleViolation, match="no screenshot"):
        snap.decide_screenshots_done(wait(), snap.ScreenshotsDone(actor="elin.strand"),
                                     now=now, uploads=0)
    # The validator does not count (no I/O): uploads None passes that check.
    snap.decide_screenshots_done(wait(), snap.ScreenshotsDone(actor="elin.strand"), now=now,
                                 uploads=None)
    for ended in (wait(outcome="done"), None):
        with pytest.raises(acc.WrongStage):
            snap.decide_screenshots_done(ended, snap.ScreenshotsDone(actor="elin.strand"),
                                         now=now, uploads=1)


def test_r38_record_only_is_the_communications_units_decision_with_a_reason() -> None:
    command = snap.PackageWithoutScreenshots(actor="sofia.wallin",
                                             reason="  The account was deleted by TikTok ")
    decided = snap.decide_record_only(wait(), command, now=THURSDAY)
    assert decided.decision_reason == "The account was deleted by TikTok"
    with pytest.raises(acc.NotAuthorised):
        snap.decide_record_only(wait(), command.model_copy(update={"actor": "elin.strand"}),
                                now=THURSDAY)
    with pytest.raises(acc.WrongStage):
        snap.decide_record_only(wait(outcome="record_only"), command, now=THURSDAY)
    with pytest.raises(acc.RuleViolation, match="say why"):
        snap.decide_record_only(wait(), command.model_copy(update={"reason": " no reason "}),
                                now=THURSDAY)


def test_r37_evolve_folds_the_wait() -> None:
    w = wait()
    plan = snap.screenshot_wait_plan(THURSDAY, snap.SnapshotPolicy(), Country.SE, TZ, PEOPLE)
    w = snap.evolve_wait(w, snap.SnapshotScreenshotsRequested(
        at=THURSDAY, snapshot_id=w.snapshot_id, account_id="a1", municipality_id="exempelby",
        reason=snap.SnapshotReason.FINAL, platform="tiktok", steps=plan))
    assert [st.key for st in snap.pending_screenshot_steps(w)] == [st.key for st in plan]
    w = snap.evolve_wait(w, snap.fire_screenshot_step(w, plan[0], now=plan[0].due))
    assert not w.escalated and snap.pending_screenshot_steps(w) == plan[1:]
    w = snap.evolve_wait(w, snap.fire_screenshot_step(w, plan[1], now=plan[1].due))
    assert w.escalated and w.version == 3
    w = snap.evolve_wait(w, snap.decide_screenshots_done(
        w, snap.ScreenshotsDone(actor="johan.berg"), now=plan[1].due, uploads=1))
    assert w.outcome == "done" and w.version == 4


def test_r43_screenshot_settings_come_from_the_directory_yaml() -> None:
    from store.directory import parse_directory_yaml
    from tests.support import EXEMPELBY

    text = EXEMPELBY.read_text(encoding="utf-8")
    custom = text.replace(
        "  diarium_prefix: KS\n",
        "  diarium_prefix: KS\n  snapshots:\n    screenshots_reminder_days: 2\n"
        "    screenshots_escalation_days: 4\n    screenshots_communications_days: 8\n", 1)
    policy = parse_directory_yaml(custom).municipality.snapshots
    assert (policy.screenshots_reminder_days, policy.screenshots_escalation_days,
            policy.screenshots_communications_days) == (2, 4, 8)
    with pytest.raises(ValidationError, match="screenshots_reminder_days"):
        parse_directory_yaml(custom.replace("screenshots_escalation_days: 4",
                                            "screenshots_escalation_days: 1"))
