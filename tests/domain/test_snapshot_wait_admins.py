"""R-12, R-13, R-37: the admins of an account, changed while its snapshot
waits for screenshots, decide on the wait from then on (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import account as acc
from domain import snapshot as snap

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def _wait() -> snap.ScreenshotWait:
    return snap.ScreenshotWait(
        snapshot_id="snapshot:exempelby:kulturhuset:2026-03-16-on-demand",
        account_id="5b0b7c1e-0000-4000-8000-000000000001", requested_at=NOW,
        people=snap.ScreenshotPeople(admins=("elin.strand", "johan.berg"),
                                     managers=("anna.lind",),
                                     communications=("sofia.wallin",)))


def test_r12_r13_r37_changed_admins_decide_on_the_wait_from_then_on() -> None:
    wait = _wait()
    with pytest.raises(acc.NotAuthorised):
        snap.decide_screenshots_done(wait, snap.ScreenshotsDone(actor="ida.hedlund"),
                                     now=NOW, uploads=1)
    [event] = snap.decide_wait_admins(wait, ["johan.berg", "ida.hedlund", "johan.berg"],
                                      now=NOW)
    assert isinstance(event, snap.SnapshotAdminsUpdated)
    assert (event.actor, event.admins) == ("kanalvakt", ["ida.hedlund", "johan.berg"])
    wait = snap.evolve_wait(wait, event)
    assert wait.people.admins == ("ida.hedlund", "johan.berg") and wait.version == 1
    assert wait.people.managers == ("anna.lind",)  # only the admins change
    done = snap.decide_screenshots_done(wait, snap.ScreenshotsDone(actor="ida.hedlund"),
                                        now=NOW, uploads=1)
    assert done.actor == "ida.hedlund"
    with pytest.raises(acc.NotAuthorised):  # removed
        snap.decide_screenshots_done(wait, snap.ScreenshotsDone(actor="elin.strand"),
                                     now=NOW, uploads=1)
    # The communications unit may still say done.
    snap.decide_screenshots_done(wait, snap.ScreenshotsDone(actor="sofia.wallin"),
                                 now=NOW, uploads=1)


def test_r12_r37_same_admins_or_an_ended_wait_record_nothing() -> None:
    wait = _wait()
    assert snap.decide_wait_admins(wait, ["johan.berg", "elin.strand"], now=NOW) == []
    ended = wait.model_copy(update={"outcome": "done"})
    assert snap.decide_wait_admins(ended, ["ida.hedlund"], now=NOW) == []
    assert snap.decide_wait_admins(None, ["ida.hedlund"], now=NOW) == []
    with pytest.raises(ValueError, match="empty"):
        snap.decide_wait_admins(wait, ["", "johan.berg"], now=NOW)
