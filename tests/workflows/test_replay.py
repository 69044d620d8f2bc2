"""Recorded histories of the workflows replay against today's code.

A change to workflow code that running cases would trip over fails here;
guard it with `workflow.patched`. Histories are recorded by
`KANALVAKT_RECORD_HISTORIES=1 python3 dev.py test tests/workflows`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import worker as app_worker

HISTORIES = {p.stem: p.read_text(encoding="utf-8") for p in sorted(
    (Path(__file__).resolve().parent.parent / "histories").glob("*.json"))}


def test_there_are_histories_to_replay() -> None:
    assert set(HISTORIES) >= {"account_whole_path", "account_lapsed",
                              "message_identity_number_redacted", "message_answered_by_hand",
                              "account_activated_snapshot", "crisis_declared_digested_ended",
                              "crisis_storm_flagged_twice",
                              # R-39 then R-47: approved by crisis management,
                              # published by the communications unit (issue 16)
                              "message_crisis_approved_published_by_unit",
                              # issue 12: the records export built, kept, expired
                              "records_export_built_expired",
                              # issue 14: working-day timers at the office's
                              # closing time (beside account_lapsed and
                              # snapshot_manual_record_only, recorded before)
                              "account_lapsed_at_closing_time",
                              "snapshot_record_only_at_closing_time",
                              # issue 15: one marker for every message rule
                              "message_answered_by_hand_one_marker"}


def test_a_message_case_records_one_marker_for_every_rule_and_old_ones_replay() -> None:
    """Issue 15: a case recorded before "message-rules-2026-12" carries its
    rules' own markers and replays with them (test below); a new case
    carries that one marker and none of the rules' own."""
    assert _patches("message_answered_by_hand_one_marker") == {"message-rules-2026-12"}
    assert _patches("message_answered_by_hand") == set()  # before any rule's marker
    assert _patches("message_deleted_by_hand_with_screenshot") == {
        "issue16-message-rules", "issue16-crisis-messages", "issue16-records-chase",
        "approval-outlives-the-admin", "uploads14_screenshot_before_delete"}


def _patches(name: str) -> set[str]:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    return {json.loads(p.data)["id"] for e in history.events
            if e.HasField("marker_recorded_event_attributes")
            for p in e.marker_recorded_event_attributes.details["patch-data"].payloads}


def _timer_ends(name: str) -> list[datetime]:
    """When the history's timers were set to fire, in Stockholm time."""
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    return [(e.event_time.ToDatetime(tzinfo=UTC)
             + e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
             ).astimezone(ZoneInfo("Europe/Stockholm"))
            for e in history.events if e.HasField("timer_started_event_attributes")]


def test_r01_r23_both_deadline_styles_are_on_record_and_replay() -> None:
    """Issue 14: the R-01 request recorded before the patch set its reminder,
    escalation and lapse timers at the clock time of the request; the one
    recorded since, at 16:30, the office's closing time. Both replay
    (test_recorded_history_replays), so a running case keeps its timers."""
    assert "usability_end_of_day" not in _patches("account_lapsed")
    assert "usability_end_of_day" in _patches("account_lapsed_at_closing_time")
    assert "usability_end_of_day" in _patches("snapshot_record_only_at_closing_time")
    before, since = _timer_ends("account_lapsed"), _timer_ends("account_lapsed_at_closing_time")
    assert len(before) == len(since) == 3
    assert {(t.hour, t.minute) for t in since} == {(16, 30)}
    assert {(t.hour, t.minute) for t in before} != {(16, 30)}


@pytest.mark.parametrize("name", sorted(HISTORIES))
async def test_recorded_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    replayer = Replayer(workflows=list(app_worker.WORKFLOWS),
                        workflow_runner=app_worker.sandbox_runner(),
                        data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
