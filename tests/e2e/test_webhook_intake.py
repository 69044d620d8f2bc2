"""From a signed Meta delivery to running cases, against the real stack:
acknowledged once the messages are durably in the intake table, turned into
cases by the feeder, the same case for a redelivery, nothing lost."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from domain.meta_webhooks import sign
from tests.e2e.conftest import META_APP_SECRET, Stack, active_account
from tests.support import eventually

PAGE = "104000000000001"


def comment(comment_id: str, text: str, *, from_id: str = "5551", name: str = "Kim") -> dict:
    return {"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": comment_id, "post_id": f"{PAGE}_77",
        "parent_id": f"{PAGE}_77", "from": {"id": from_id, "name": name}, "message": text,
        "created_time": int(time.time()) - 5}}


def delivery(*changes: dict[str, Any], page: str = PAGE) -> bytes:
    return json.dumps({"object": "page", "entry": [
        {"id": page, "time": int(time.time()), "changes": list(changes)}]}).encode()


async def deliver(stack: Stack, body: bytes, *, secret: str = META_APP_SECRET
                  ) -> httpx.Response:
    return await stack.http.post("/webhooks/meta", content=body, headers={
        "content-type": "application/json", "X-Hub-Signature-256": sign(secret, body)})


async def cases(stack: Stack, expected: int, seconds: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        rows = [dict(r) for r in await stack.pool.fetch(
            "SELECT case_id, stage, from_staff, flags FROM message_cases ORDER BY case_id")]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_r21_r22_signed_delivery_becomes_cases_once(stack: Stack) -> None:
    """R-21: each message is received (staff posts kept apart); R-22: each
    becomes a case; a redelivery changes nothing; a bad signature writes
    nothing; a message for an unknown account waits in the intake, not lost."""
    await active_account(stack, platform_account_id=PAGE)

    body = delivery(
        comment(f"{PAGE}_77_1", "Hej, när är simhallen öppen?"),
        comment(f"{PAGE}_77_2", "Välkomna!", from_id=PAGE, name="Kulturhuset"),
        comment(f"{PAGE}_77_3", "Ring mig på 070-123 45 67"),
    )
    r = await deliver(stack, body)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["duplicates"] == 0

    rows = await cases(stack, 3)
    assert [(c["case_id"], c["from_staff"]) for c in rows] == [
        (f"message:facebook:{PAGE}_77_1", False), (f"message:facebook:{PAGE}_77_2", True),
        (f"message:facebook:{PAGE}_77_3", False)]
    assert rows[1]["stage"] == "staff_post"
    assert [f["kind"] for f in rows[2]["flags"]] == ["phone_number"]

    again = await deliver(stack, body)
    assert again.json() == {**again.json(), "accepted": 0, "duplicates": 3}
    await asyncio.sleep(1)
    assert len(await cases(stack, 3, seconds=0)) == 3
    received = await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type IN ('MessageReceived', "
        "'StaffPostRecorded')")
    assert received == 3
    # The feeder put the receipt on the record: an unflagged case's workflow
    # only sets its timers (no activity), which is what keeps a storm cheap.
    # The row is there before the feeder starts the workflow: wait for its
    # first workflow task to be done.
    case = stack.client.get_workflow_handle(rows[0]["case_id"])

    async def first_task_done() -> WorkflowHistory | None:
        try:
            history = await case.fetch_history()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return None
        done = any(e.HasField("workflow_task_completed_event_attributes") for e in history.events)
        return history if done else None
    history = await eventually(first_task_done)
    assert history is not None, "the case's workflow did not complete its first task"
    assert not [e for e in history.events
                if e.HasField("activity_task_scheduled_event_attributes")]

    forged = delivery(comment(f"{PAGE}_77_9", "Förfalskad"))
    r = await deliver(stack, forged, secret="not-the-app-secret")
    assert r.status_code == 401
    r = await stack.http.post("/webhooks/meta", content=forged,
                              headers={"content-type": "application/json"})
    assert r.status_code == 401
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM intake WHERE external_id = $1", f"{PAGE}_77_9") == 0

    stranger = delivery(comment("999_1_1", "Till en okänd sida"), page="999")
    assert (await deliver(stack, stranger)).json()["accepted"] == 1

    async def stranger_row() -> Any:
        return await stack.pool.fetchrow(
            "SELECT started_at, last_error FROM intake WHERE external_id = '999_1_1'")
    # The feeder tries it a moment later (it was a fixed second; a loaded
    # machine may take longer): wait for its verdict.
    row = await eventually(stranger_row, lambda r: r is not None and r["last_error"] is not None)
    assert row["started_at"] is None and "no active facebook account 999" in row["last_error"]


async def test_a_malformed_entry_costs_only_itself(stack: Stack) -> None:
    """Nothing is lost from a valid batch because one entry in it is bad; the
    bad one is named in the answer."""
    await active_account(stack, platform_account_id=PAGE)
    bad = {"field": "feed", "value": {"item": "comment", "verb": "add"}}
    body = delivery(comment(f"{PAGE}_77_5", "Bra jobbat!"), bad)
    r = await deliver(stack, body)
    assert r.status_code == 200
    assert r.json()["accepted"] == 1 and len(r.json()["errors"]) == 1
    assert r.json()["errors"][0]["path"].startswith("entry[0].changes[1]")
    assert [c["case_id"] for c in await cases(stack, 1)] == [f"message:facebook:{PAGE}_77_5"]
    r = await stack.http.post("/webhooks/meta", content=b"{not json", headers={
        "X-Hub-Signature-256": sign(META_APP_SECRET, b"{not json")})
    assert r.status_code == 400 and "JSON" in r.text


async def test_r43_new_cases_follow_the_accounts_message_settings(stack: Stack) -> None:
    """R-23, R-26, R-43: the account's own answer rule and signature rule,
    set by its manager, govern the cases of messages that arrive after."""
    account_id = await active_account(stack, platform_account_id=PAGE)
    settings = {"answer_rule": "office_hours", "answer_office_hours": 16,
                "signature": "required",
                "office_hours": {"opens": "06:45:00", "closes": "16:30:00"}}
    r = await stack.http.post(f"/api/accounts/{account_id}/message-settings",
                              headers={"X-Kanalvakt-Actor": "elin.strand"}, json=settings)
    assert r.status_code == 403  # an admin, not the manager
    r = await stack.http.post(f"/api/accounts/{account_id}/message-settings",
                              headers={"X-Kanalvakt-Actor": "anna.lind"}, json=settings)
    assert r.status_code == 200, r.text
    assert r.json()["state"]["message_policy"]["signature"] == "required"

    await deliver(stack, delivery(comment(f"{PAGE}_77_8", "Var kan jag parkera?")))
    [case] = await cases(stack, 1)
    policy = (await stack.pool.fetchval(
        "SELECT state FROM message_cases WHERE case_id = $1", case["case_id"]))["policy"]
    assert policy["answer_rule"] == "office_hours" and policy["answer_office_hours"] == 16
    assert policy["signature"] == "required"
    assert policy["office_hours"]["opens"] == "06:45:00"


def page_post(post_id: str, text: str, *, from_id: str = PAGE, item: str = "status",
              verb: str = "add", created: int | None = None) -> dict[str, Any]:
    return {"field": "feed", "value": {
        "item": item, "verb": verb, "post_id": post_id, "message": text, "published": 1,
        "from": {"id": from_id, "name": "Kulturhuset Ängen"},
        "created_time": created or int(time.time()) - 30}}


async def test_r18_r21_the_pages_own_post_is_recorded_on_the_account_once(stack: Stack) -> None:
    """R-18: a post the Page published, delivered by Meta's feed webhook, is
    recorded on the account by Kanalvakt (published_posts, the monitoring
    status's posts this week); R-21: it is also a staff post on the record,
    apart from citizens'. A visitor's post is not the account's; a
    redelivery records nothing twice."""
    account_id = await active_account(stack, platform_account_id=PAGE)
    admin = {"X-Kanalvakt-Actor": "elin.strand"}
    before = await stack.http.get(f"/api/accounts/{account_id}/monitoring", headers=admin)
    assert before.status_code == 200, before.text
    assert before.json()["status"]["posts_this_week"] == 0

    body = delivery(page_post(f"{PAGE}_901", "Höstens program är här!"),
                    page_post(f"{PAGE}_902", "Varför är det stängt?", from_id="5551"),
                    page_post(f"{PAGE}_903", "Foto från vernissagen", item="photo"))
    r = await deliver(stack, body)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["skipped"]) == (2, 1)

    deadline = time.monotonic() + 60  # generous: CI machines may be loaded
    while True:
        posts = [dict(p) for p in await stack.pool.fetch(
            "SELECT post_id, recorded_by, published_at FROM published_posts "
            "WHERE account_id = $1::uuid ORDER BY post_id", account_id)]
        if len(posts) >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert [(p["post_id"], p["recorded_by"]) for p in posts] == [
        (f"{PAGE}_901", "kanalvakt"), (f"{PAGE}_903", "kanalvakt")]
    status = (await stack.http.get(f"/api/accounts/{account_id}/monitoring",
                                   headers=admin)).json()["status"]
    assert status["posts_this_week"] == 2 and status["last_post_at"] is not None

    rows = await cases(stack, 2)
    assert [(c["case_id"], c["from_staff"], c["stage"]) for c in rows] == [
        (f"message:facebook:{PAGE}_901", True, "staff_post"),
        (f"message:facebook:{PAGE}_903", True, "staff_post")]
    kinds = {r["kind"] for r in await stack.pool.fetch("SELECT kind FROM message_cases")}
    assert kinds == {"post"}

    again = await deliver(stack, body)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)
    # Fed again regardless (a retried row): the account records each post once.
    await stack.pool.execute("UPDATE intake SET started_at = NULL")
    deadline = time.monotonic() + 60
    while await stack.pool.fetchval("SELECT count(*) FROM intake WHERE started_at IS NULL"):
        assert time.monotonic() < deadline, "the feeder did not take the re-fed rows in 60 s"
        await asyncio.sleep(0.1)
    recorded = await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'PostRecorded'",
        f"account-{account_id}")
    assert recorded == 2
