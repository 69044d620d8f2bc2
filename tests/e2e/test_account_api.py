"""End to end over HTTP: the JSON API against the dev server, the worker and
PostgreSQL, from request to closure, with the cases findable by their search
attributes as the README shows."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime
from typing import Any

import bagit
import httpx

from tests.e2e.conftest import Stack
from tests.support import (
    COMMS,
    DEPUTY,
    DEV_SERVER,
    MANAGER,
    OUTSIDER,
    REQUESTER,
    assessment,
    eventually,
    full_checklist,
    request_fields,
)
from workflows import search_attributes as sa

# Account reads are for people of the account's municipality.
COLLEAGUE = {"X-Kanalvakt-Actor": "elin.strand"}


def as_(actor: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": actor}


async def post(stack: Stack, path: str, actor: str, body: dict[str, Any]) -> httpx.Response:
    return await stack.http.post(path, json=body, headers=as_(actor))


def readme_query(stack: Stack, query: str) -> list[dict[str, Any]]:
    """The README's `temporal workflow list --query ...`, run with the CLI the
    project installs."""
    out = subprocess.run(
        [DEV_SERVER, "workflow", "list", "--address", stack.temporal_address,
         "--query", query, "--output", "json"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    return json.loads(out) if out.strip() else []


async def test_bad_request_gets_field_errors_and_starts_nothing(stack: Stack) -> None:
    """R-02, R-12: every field of the form is required, at least two admins,
    known unit and people; a 422 names each field and no case starts."""
    incomplete = request_fields()
    del incomplete["purpose"], incomplete["channel_rationale"]
    incomplete["proposed_admins"] = [REQUESTER]
    incomplete["municipality_id"] = "exempelby"
    r = await post(stack, "/api/accounts", REQUESTER, incomplete)
    assert r.status_code == 422
    fields = {tuple(e["loc"][1:]) for e in r.json()["detail"]}
    assert {("purpose",), ("channel_rationale",), ("proposed_admins",)} <= fields

    unknown = {**request_fields(unit_id="nope"), "municipality_id": "exempelby"}
    r = await post(stack, "/api/accounts", REQUESTER, unknown)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit_id"]

    strangers = {**request_fields(proposed_admins=[REQUESTER, "no.body"]),
                 "municipality_id": "exempelby"}
    r = await post(stack, "/api/accounts", REQUESTER, strangers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "proposed_admins", 1]

    r = await stack.http.post("/api/accounts", json={**request_fields(),
                                                      "municipality_id": "exempelby"})
    assert r.status_code == 401

    started = [wf async for wf in stack.client.list_workflows()]
    assert started == []
    assert await stack.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_request_to_closure_over_the_json_api(stack: Stack) -> None:
    """R-01..R-05, R-07, R-12, R-13, R-19, R-38 end to end over HTTP."""
    body = {**request_fields(), "municipality_id": "exempelby"}
    r = await post(stack, "/api/accounts", REQUESTER, body)
    assert r.status_code == 201, r.text
    created = r.json()
    account_id, workflow_id = created["account_id"], created["workflow_id"]
    assert workflow_id == "account:exempelby:kulturhuset-angen-instagram"
    # The same account twice is one case.
    assert (await post(stack, "/api/accounts", REQUESTER, body)).status_code == 409

    async def get() -> dict[str, Any]:
        return (await stack.http.get(f"/api/accounts/{account_id}", headers=COLLEAGUE)).json()  # type: ignore[no-any-return]

    # The README's query finds every account waiting for its manager.
    waiting = await eventually(
        lambda: asyncio.to_thread(readme_query, stack, 'KvStage="awaiting_manager"'),
        lambda rows: len(rows) == 1)
    assert [w["execution"]["workflowId"] for w in waiting] == [workflow_id]

    # an outsider is refused with the rule; nothing is recorded.
    r = await post(stack, f"/api/accounts/{account_id}/approve", OUTSIDER, {})
    assert r.status_code == 403 and "R-01" in r.json()["detail"]["message"]
    assert (await get())["version"] == 1
    r = await post(stack, f"/api/accounts/{account_id}/approve", MANAGER,
                   {"comment": "Ja", "admins_equipped": True})
    assert r.status_code == 200 and r.json()["stage"] == "risk_assessment"

    today = datetime.now(UTC).date()
    for kind in ("ros", "dpia"):
        r = await post(stack, f"/api/accounts/{account_id}/risk-assessments", REQUESTER,
                       assessment(kind, today))
        assert r.status_code == 200, r.text
    assert r.json()["stage"] == "awaiting_signoff"

    # sent back, amended, signed off; an incomplete checklist is refused.
    r = await post(stack, f"/api/accounts/{account_id}/sign-off", COMMS,
                   {"decision": "send_back", "comment": "Beskriv målgruppen tydligare"})
    assert r.json()["stage"] == "amending"
    r = await post(stack, f"/api/accounts/{account_id}/amend", REQUESTER,
                   {"request": request_fields(target_audience="Unga vuxna 18–29 år")})
    assert r.json()["stage"] == "awaiting_signoff"
    r = await post(stack, f"/api/accounts/{account_id}/sign-off", COMMS,
                   {"decision": "approve", "checklist": {"public_channel": True}})
    assert r.status_code == 422 and "R-08" in r.json()["detail"]["message"]
    r = await post(stack, f"/api/accounts/{account_id}/sign-off", COMMS,
                   {"decision": "approve", "checklist": full_checklist()})
    assert r.json()["stage"] == "awaiting_activation"

    # admins without 2FA are refused; with it the account goes live.
    activation = {"handle": "@kulturhusetangen",
                  "url": "https://www.instagram.com/kulturhusetangen",
                  "admins": [{"person": REQUESTER, "two_factor": True},
                             {"person": DEPUTY, "two_factor": False}]}
    r = await post(stack, f"/api/accounts/{account_id}/activate", COMMS, activation)
    assert r.status_code == 422 and "R-12" in r.json()["detail"]["message"]
    activation["admins"][1]["two_factor"] = True  # type: ignore[index]
    r = await post(stack, f"/api/accounts/{account_id}/activate", COMMS, activation)
    assert r.json()["stage"] == "active"

    # the public register, JSON and HTML, without sign-in.
    register = (await stack.http.get("/api/register")).json()
    assert [(e["handle"], e["unit"], e["responsible"]) for e in register] == [
        ("@kulturhusetangen", "Kultur- och fritidsförvaltningen", "Anna Lind")]
    assert register[0]["monitoring_hours"] == "vardagar 08:00–16:30"
    page = await stack.http.get("/register")
    assert page.status_code == 200 and "@kulturhusetangen" in page.text

    # one admin gone -> a restore deadline runs and shows.
    r = await post(stack, f"/api/accounts/{account_id}/admins/{DEPUTY}/remove", MANAGER,
                   {"reason": "Byter tjänst"})
    assert r.json()["next_deadline"] is not None
    r = await post(stack, f"/api/accounts/{account_id}/admins", MANAGER,
                   {"person": MANAGER, "two_factor": False})
    r = await post(stack, f"/api/accounts/{account_id}/admins/{MANAGER}/two-factor", MANAGER, {})
    assert r.status_code == 200 and r.json()["state"]["coverage_lost_at"] is None
    # What falls due now is the monitoring duty: the next check-in reminder.
    assert r.json()["next_deadline"] is not None
    assert r.json()["state"]["monitoring"]["since"] is not None

    # closure with a final snapshot for the registrars.
    r = await post(stack, f"/api/accounts/{account_id}/closure", OUTSIDER, {"reason": "x"})
    assert r.status_code == 403
    r = await post(stack, f"/api/accounts/{account_id}/closure", MANAGER,
                   {"reason": "Verksamheten flyttar till webbplatsen"})
    assert r.status_code == 200
    # The final snapshot waits for screenshots until decided.
    from tests.e2e.snapshot_waits import record_only

    await record_only(stack, account_id, "final")
    final = await eventually(get, lambda a: a["stage"] == "closed")
    assert final["stage"] == "closed"
    package = final["state"]["final_package"]
    assert bagit.Bag(package["path"]).is_valid()
    assert (await stack.http.get("/api/register")).json() == []
    r = await post(stack, f"/api/accounts/{account_id}/approve", MANAGER,
                   {"admins_equipped": True})
    assert r.status_code == 409

    timeline = (await stack.http.get(f"/api/accounts/{account_id}/timeline",
                                     headers=COLLEAGUE)).json()
    assert timeline[0]["event_type"] == "AccountRequested" and timeline[0]["actor"] == REQUESTER
    assert timeline[-1]["event_type"] == "AccountClosed"

    handle = stack.client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.STAGE) == "closed"
    assert desc.typed_search_attributes.get(sa.UNIT) == "kultur"
    assert desc.typed_search_attributes.get(sa.PLATFORM) == "instagram"
    assert desc.typed_search_attributes.get(sa.ESCALATED) is False
    assert desc.typed_search_attributes.get(sa.NEXT_DEADLINE) is None
    closed = await eventually(
        lambda: asyncio.to_thread(readme_query, stack, 'KvStage="closed" AND KvUnit="kultur"'),
        lambda rows: len(rows) == 1)
    assert len(closed) == 1


async def test_a_new_manager_in_the_directory_decides_running_cases(
    stack: Stack, database_url: str, tmp_path: Any
) -> None:
    """R-01, R-13: decisions are authorised against the directory as it is now:
    after a reload, the new manager approves and the old one is refused."""
    from tests.support import EXEMPELBY

    r = await post(
        stack, "/api/accounts", REQUESTER, {**request_fields(), "municipality_id": "exempelby"}
    )
    account_id = r.json()["account_id"]
    await eventually(
        lambda: asyncio.to_thread(readme_query, stack, 'KvMunicipality="exempelby"'),
        lambda rows: len(rows) == 1,
    )

    changed = tmp_path / "exempelby.yaml"
    changed.write_text(
        EXEMPELBY.read_text(encoding="utf-8").replace(
            # not the requester, who may not decide her own request.
            "    manager: anna.lind\n", "    manager: jonas.blom\n"
        ),
        encoding="utf-8",
    )
    import cli

    code = await asyncio.to_thread(cli.main, [
        "--database-url", database_url, "directory", "load", str(changed),
        "--temporal-address", stack.temporal_address])
    assert code == 0

    async def authorities() -> dict[str, Any]:
        body = (await stack.http.get(f"/api/accounts/{account_id}", headers=COLLEAGUE)).json()
        return body["state"]["authorities"]  # type: ignore[no-any-return]

    await eventually(authorities, lambda a: a["manager"] == "jonas.blom")
    r = await post(stack, f"/api/accounts/{account_id}/approve", MANAGER,
                   {"admins_equipped": True})
    assert r.status_code == 403
    r = await post(stack, f"/api/accounts/{account_id}/approve", "jonas.blom",
                   {"admins_equipped": True})
    assert r.status_code == 200 and r.json()["stage"] == "risk_assessment"
    timeline = (await stack.http.get(f"/api/accounts/{account_id}/timeline",
                                     headers=COLLEAGUE)).json()
    assert [e["event_type"] for e in timeline] == [
        "AccountRequested",
        "AuthoritiesUpdated",
        "ManagerApproved",
    ]


async def test_account_reads_are_for_people_of_its_municipality(stack: Stack) -> None:
    """Issue 4 (every API call checks the person): an account's state, its
    timeline and the list are read by people of its municipality only; not
    signed in is 401, a person of another municipality 403."""
    r = await post(stack, "/api/accounts", REQUESTER,
                   {**request_fields(account_name="Biblioteket läser"),
                    "municipality_id": "exempelby"})
    assert r.status_code in (201, 202), r.text
    account_id = r.json()["account_id"]
    stranger = {"X-Kanalvakt-Actor": "ingrid.haugen"}  # Fjordvik's, not Exempelby's
    for path in (f"/api/accounts/{account_id}", f"/api/accounts/{account_id}/timeline",
                 "/api/accounts?municipality=exempelby"):
        assert (await stack.http.get(path)).status_code == 401, path
        assert (await stack.http.get(path, headers=stranger)).status_code == 403, path
        assert (await stack.http.get(path, headers={"X-Kanalvakt-Actor": MANAGER})
                ).status_code == 200, path
    listed = (await stack.http.get("/api/accounts?municipality=exempelby",
                                   headers={"X-Kanalvakt-Actor": MANAGER})).json()
    assert account_id in {a["account_id"] for a in listed}
