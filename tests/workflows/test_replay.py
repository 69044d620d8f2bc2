"""Recorded histories of the workflows replay against today's code.

A change to workflow code that running cases would trip over fails here;
guard it with `workflow.patched`. Histories are recorded by
`KANALVAKT_RECORD_HISTORIES=1 python3 dev.py test tests/workflows`."""

from __future__ import annotations

from pathlib import Path

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
                              "records_export_built_expired"}


@pytest.mark.parametrize("name", sorted(HISTORIES))
async def test_recorded_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    replayer = Replayer(workflows=list(app_worker.WORKFLOWS),
                        workflow_runner=app_worker.sandbox_runner(),
                        data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
