"""R-44 on the account side (issue 16): "Självfallet ska kommunen inte
publicera sekretessreglerade uppgifter". A staff post recorded through
Kanalvakt with its text is screened as a reply is; an identity number or a
confidential marker holds it until the unit's manager, deputy or the
communications unit (never its writer) confirms it or sends it back, on the
record; in a crisis the R-47 and R-39 rules for posts apply first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.account import (
    ConfirmPost,
    DeadlineEscalated,
    DeadlineReminderSent,
    FireDueDeadlines,
    NotAuthorised,
    PostHeld,
    PostRecorded,
    PostSentBack,
    RecordPost,
    RuleViolation,
    SendBackPost,
    Stage,
    pending_steps,
)
from tests.domain.conftest import COMMS, DEPUTY, MANAGER, REQUESTER, SYSTEM, Journey
from tests.domain.test_account_issue16 import _in_crisis

Walk = Callable[..., Journey]
PERSONNUMMER = "Grattis till 19121212-1212 som vann tävlingen!"


def post(journey: Journey, actor: str = REQUESTER, text: str | None = PERSONNUMMER,
         post_id: str = "p-1") -> RecordPost:
    return RecordPost(actor=actor, post_id=post_id, text=text, published_at=journey.now)


@pytest.fixture
def active(walk: Walk) -> Journey:
    return walk(Stage.ACTIVE)


def test_r44_a_post_with_a_personnummer_is_held_not_recorded(active: Journey) -> None:
    """R-44: the admin records a post whose text has a personnummer: it is
    held, described (never quoted), for the manager, deputy and the
    communications unit; it does not count as published (R-18)."""
    posts_before = len(active.current.monitoring.posts)
    [held] = active.do(post(active))
    assert isinstance(held, PostHeld)
    assert held.found and "19121212" not in " ".join(held.found)
    assert set(held.approvers) == {MANAGER, DEPUTY, *COMMS} and REQUESTER not in held.approvers
    assert "19121212" not in held.model_dump_json()  # the text is not kept
    assert len(active.current.monitoring.posts) == posts_before
    assert [h.post_id for h in active.current.held_posts] == ["p-1"]
    assert active.decide(post(active)) == []  # held already: it waits


def test_r44_a_confidential_marker_holds_it_too_and_a_clean_post_is_recorded(
        active: Journey) -> None:
    """R-44: "sekretessbelagd" in the text holds it; a clean text, or a post
    reported without its text (the connector's), is recorded as before."""
    [held] = active.do(post(active, text="Uppgifterna är sekretessbelagda enligt OSL"))
    assert isinstance(held, PostHeld) and held.found == ["confidential marker"]
    [clean] = active.do(post(active, text="Biblioteket har öppet i helgen.", post_id="p-2"))
    assert isinstance(clean, PostRecorded)
    [reported] = active.do(post(active, actor=SYSTEM, text=None, post_id="p-3"))
    assert isinstance(reported, PostRecorded)


def test_r44_r53_the_writer_never_confirms_a_manager_does_on_the_record(
        active: Journey) -> None:
    """R-44, R-53: the writer (and anyone else not named) is refused; the
    manager confirms: recorded as published, with who confirmed it."""
    active.do(post(active))
    for who in (REQUESTER, "harald.annan"):
        with pytest.raises(NotAuthorised) as refused:
            active.decide(ConfirmPost(actor=who, post_id="p-1"))
        assert refused.value.key == "post.confidential_who"
    [recorded] = active.do(ConfirmPost(actor=MANAGER, post_id="p-1"))
    assert isinstance(recorded, PostRecorded)
    assert (recorded.actor, recorded.confirmed_by) == (REQUESTER, MANAGER)
    assert active.current.held_posts == []
    assert active.current.monitoring.posts[-1].post_id == "p-1"
    with pytest.raises(RuleViolation) as gone:
        active.decide(ConfirmPost(actor=MANAGER, post_id="p-1"))
    assert gone.value.key == "post.not_held"


def test_r44_sent_back_by_the_communications_unit_with_a_comment(active: Journey) -> None:
    """R-44: the communications unit sends it back to be changed; nothing is
    recorded as published; the changed post is recorded."""
    active.do(post(active))
    [back] = active.do(SendBackPost(actor=COMMS[0], post_id="p-1",
                                    comment="Ta bort personnumret och publicera igen"))
    assert isinstance(back, PostSentBack) and back.written_by == REQUESTER
    assert active.current.held_posts == []
    assert not any(p.post_id == "p-1" for p in active.current.monitoring.posts)
    [recorded] = active.do(post(active, text="Grattis till vinnaren av tävlingen!"))
    assert isinstance(recorded, PostRecorded) and recorded.confirmed_by is None


def test_r44_r47_in_a_crisis_the_units_post_is_screened_too(active: Journey) -> None:
    """R-47 then R-44: in a crisis the communications unit publishes; its own
    post with a personnummer is held for the manager or another member of
    the unit, never the writer."""
    _in_crisis(active, publish=True, through=False)
    with pytest.raises(NotAuthorised, match="R-47"):
        active.decide(post(active))
    [held] = active.do(post(active, actor=COMMS[0]))
    assert isinstance(held, PostHeld) and COMMS[0] not in held.approvers
    with pytest.raises(NotAuthorised):
        active.decide(ConfirmPost(actor=COMMS[0], post_id="p-1"))
    [recorded] = active.do(ConfirmPost(actor=COMMS[1], post_id="p-1"))
    assert isinstance(recorded, PostRecorded) and recorded.confirmed_by == COMMS[1]


def test_r44_a_held_post_is_chased_until_someone_decides(active: Journey) -> None:
    """R-44 with "chains that never go silent": its approvers are reminded
    after `chase_every_days` working days, then the manager, deputy and the
    communications unit are chased on that rhythm for as long as it is held
    (here a quarter); confirmed, the chase ends."""
    active.do(post(active))
    start = active.now
    for week in range(1, 14):
        active.do(FireDueDeadlines(actor=SYSTEM, skip_superseded=True),
                  at=start + timedelta(days=7 * week))
    steps = [e for e in active.events if isinstance(e, DeadlineReminderSent | DeadlineEscalated)
             and "held_post" in e.step]
    reminders = [e for e in steps if isinstance(e, DeadlineReminderSent)]
    chased = [e for e in steps if isinstance(e, DeadlineEscalated)]
    assert len(reminders) == 1 and set(reminders[0].recipients) == {MANAGER, DEPUTY, *COMMS}
    assert len(chased) >= 10 and all(MANAGER in c.recipients for c in chased)
    active.do(ConfirmPost(actor=DEPUTY, post_id="p-1"))
    assert not any("held_post" in s.key for s in pending_steps(active.current))


def test_r44_a_run_recorded_before_the_rule_records_the_post(active: Journey) -> None:
    """workflow.patched: an account run recorded before issue 16's rules
    (legacy_rules) records the post as it did."""
    active.state = active.current.model_copy(update={"legacy_rules": True})
    [recorded] = active.do(post(active))
    assert isinstance(recorded, PostRecorded)
