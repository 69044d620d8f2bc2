"""Workflow, activity and web logs come out as one JSON stream with the
workflow id and account id bound, so an operator can follow one case."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.logging_setup import configure_logging
from domain import account as acc
from domain.directory import Country
from tests.support import MANAGER, REQUESTER, request_fields
from tests.workflows.conftest import Harness
from workflows.account import AccountLifecycleWorkflow as W
from workflows.starter import start_account_case


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The production logging set-up, writing to a buffer the test reads."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], root.level = saved


def lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


async def test_workflow_and_activity_logs_are_json_with_case_ids(
        h: Harness, json_logs: io.StringIO) -> None:
    request = acc.AccountRequest.model_validate(request_fields())
    account_id = str(uuid.uuid4())
    handle = await start_account_case(h.client, acc.RequestAccount(
        actor=REQUESTER, account_id=account_id, municipality_id="exempelby",
        country=Country.SE, timezone="Europe/Stockholm", request=request,
        authorities=h.directory.authorities("kultur")), task_queue=h.task_queue)
    await handle.execute_update(W.approve, acc.ApproveRequest(actor=MANAGER, admins_equipped=True))

    logged = lines(json_logs.getvalue())
    recorded = [e for e in logged if e.get("event") == "recorded ManagerApproved"]
    assert len(recorded) == 1
    assert recorded[0]["workflow_id"] == handle.id
    assert recorded[0]["account_id"] == account_id
    assert recorded[0]["update_name"] == "approve"
    assert {"timestamp", "level", "logger", "run_id"} <= set(recorded[0])
    appended = [e for e in logged if e.get("activity_type") == "record_events"]
    assert appended and all(e["workflow_id"] == handle.id for e in appended)
    assert all(e["stream_id"] == f"account-{account_id}" for e in appended)
