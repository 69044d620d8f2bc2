"""End to end over HTTP on the dev-server stack: the monitoring endpoints of
an active account (R-15, R-16, R-18, R-19, R-20, R-43), and a moderation
decision on one of its messages counted as a check-in (the message case
signals the account's case)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import as_, decide, received
from tests.support import COMMS, DEPUTY, MANAGER, OUTSIDER, REQUESTER, eventually

ADMIN = REQUESTER  # elin.strand; johan.berg (DEPUTY) is the other admin


async def status(stack: Stack, account_id: str, actor: str = ADMIN) -> dict[str, Any]:
    r = await stack.http.get(f"/api/accounts/{account_id}/monitoring", headers=as_(actor))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def post(stack: Stack, account_id: str, path: str, actor: str | None,
               body: dict[str, Any]) -> Any:
    return await stack.http.post(f"/api/accounts/{account_id}/{path}", json=body,
                                 headers=as_(actor))


async def timeline_types(stack: Stack, account_id: str) -> list[str]:
    r = await stack.http.get(f"/api/accounts/{account_id}/timeline", headers=as_(ADMIN))
    assert r.status_code == 200, r.text
    return [e["event_type"] for e in r.json()]


async def test_r15_r16_an_admin_checks_in_and_the_status_shows_it(stack: Stack) -> None:
    """R-15, R-16: the check-in button is an admin's; the manager, an outsider
    and an unnamed caller are refused and nothing is recorded. The status
    shows the last check-in, the next step due and the settings."""
    account_id = await active_account(stack)
    before = await timeline_types(stack, account_id)
    r = await post(stack, account_id, "check-ins", MANAGER, {})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "NotAuthorised"
    assert "R-15" in r.json()["detail"]["message"]
    r = await post(stack, account_id, "check-ins", OUTSIDER, {})
    assert r.status_code == 403
    r = await post(stack, account_id, "check-ins", None, {})
    assert r.status_code == 401
    assert await timeline_types(stack, account_id) == before

    r = await post(stack, account_id, "check-ins", ADMIN, {})
    assert r.status_code == 200, r.text
    view = r.json()
    s = view["status"]
    assert s["monitored"] and s["last_check_in_by"] == ADMIN
    assert [c["by"] for c in s["recent_check_ins"]] == [ADMIN]
    assert s["recent_check_ins"][0]["source"] == "manual"
    assert s["next_due"] is not None and s["policy"]["check_ins_per_day"] == 2
    assert s["office_hours"] == {"opens": "08:00:00", "closes": "16:30:00"}
    assert (await timeline_types(stack, account_id))[-1] == "CheckInRecorded"
    # Readers: the unit's manager and the communications unit; not an outsider.
    assert (await status(stack, account_id, MANAGER))["status"]["last_check_in_by"] == ADMIN
    await status(stack, account_id, COMMS)
    r = await stack.http.get(f"/api/accounts/{account_id}/monitoring", headers=as_(OUTSIDER))
    assert r.status_code == 403
    row = await stack.pool.fetchrow("SELECT last_check_in FROM accounts")
    assert row["last_check_in"] is not None


async def test_r15_a_moderation_decision_by_an_admin_counts_as_a_check_in(stack: Stack) -> None:
    """R-15, R-16: an admin answers a message; the message case tells the
    account's case, which records a check-in from moderation with the case."""
    account_id = await active_account(stack)
    case_id = await received(stack, account_id, "Hej! Är kulturhuset öppet på lördag?")
    r = await decide(stack, case_id, "respond", DEPUTY, {"text": "Ja, 10–16."})
    assert r.status_code == 200, r.text
    view = await eventually(lambda: status(stack, account_id),
                            lambda v: v["status"]["last_check_in"] is not None)
    [checked] = view["status"]["recent_check_ins"]
    assert (checked["by"], checked["source"], checked["case_id"]) == (
        DEPUTY, "moderation", case_id)
    row = await stack.pool.fetchrow("SELECT checked_by, source, case_id FROM check_ins")
    assert dict(row) == {"checked_by": DEPUTY, "source": "moderation", "case_id": case_id}


async def test_r18_posts_are_recorded_once_and_counted_for_the_week(stack: Stack) -> None:
    """R-18: an admin records a published post (the platform's id and time);
    the same post twice is one; a post in the future or by an outsider is
    refused."""
    account_id = await active_account(stack)
    now = datetime.now(UTC)
    body = {"post_id": "104000000000001_555", "published_at": now.isoformat()}
    r = await post(stack, account_id, "posts", ADMIN, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"]["posts_this_week"] == 1
    assert r.json()["status"]["last_post_at"] is not None
    r = await post(stack, account_id, "posts", DEPUTY, body)
    assert r.status_code == 200 and r.json()["status"]["posts_this_week"] == 1
    r = await post(stack, account_id, "posts", ADMIN, {
        "post_id": "104000000000001_556",
        "published_at": (now + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "future" in r.json()["detail"]["message"]
    r = await post(stack, account_id, "posts", OUTSIDER, {**body, "post_id": "x1"})
    assert r.status_code == 403
    r = await post(stack, account_id, "posts", ADMIN, {"post_id": "a b", "published_at": "x"})
    assert r.status_code == 422
    rows = await stack.pool.fetch("SELECT post_id, recorded_by FROM published_posts")
    assert [(p["post_id"], p["recorded_by"]) for p in rows] == [("104000000000001_555", ADMIN)]
    assert (await timeline_types(stack, account_id)).count("PostRecorded") == 1


async def test_r19_r43_keep_needs_a_proposal_and_the_communications_unit(stack: Stack) -> None:
    """R-19: nothing to keep before a closure is proposed; only the
    communications unit keeps. R-43: the account's own settings, set by the
    communications unit, show in the status (an admin may not set them)."""
    account_id = await active_account(stack)
    r = await post(stack, account_id, "keep", COMMS, {"reason": "Still useful"})
    assert r.status_code == 422 and "R-19" in r.json()["detail"]["message"]
    r = await post(stack, account_id, "keep", MANAGER, {"reason": "Still useful"})
    assert r.status_code == 403
    settings = {"posts_per_week": 2, "inactivity_days": 30, "check_ins_per_day": 3}
    r = await post(stack, account_id, "monitoring-settings", ADMIN, settings)
    assert r.status_code == 403
    r = await post(stack, account_id, "monitoring-settings", COMMS, {
        **settings, "days_without_check_in": 8})
    assert r.status_code == 422  # never looser than a week
    r = await post(stack, account_id, "monitoring-settings", COMMS, settings)
    assert r.status_code == 200, r.text
    policy = r.json()["status"]["policy"]
    assert (policy["posts_per_week"], policy["inactivity_days"],
            policy["check_ins_per_day"]) == (2, 30, 3)
    assert "MonitoringSettingsChanged" in await timeline_types(stack, account_id)


async def test_r20_watch_items_raised_by_the_unit_and_resolved_by_the_manager(
        stack: Stack) -> None:
    """R-20: an admin, or anyone working in the unit (the directory says so),
    raises criticism or an error for the manager; an outsider may not. The
    manager sees the open items and resolves one with a note; an admin may not."""
    account_id = await active_account(stack)
    await stack.pool.execute(
        "INSERT INTO people (municipality_id, id, name, email, unit) "
        "VALUES ('exempelby', 'nils.kultur', 'Nils Kultur', 'nils@exempelby.se', 'kultur')")
    seen = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    item = {"summary": "Lokaltidningen skriver att kulturhuset stänger i juni",
            "link": "https://www.example.se/nyheter/1", "seen_at": seen}
    r = await post(stack, account_id, "watch-items", ADMIN, item)
    assert r.status_code == 201, r.text
    assert [w["item_id"] for w in r.json()["status"]["open_watch_items"]] == ["W-1"]
    r = await post(stack, account_id, "watch-items", "nils.kultur",
                   {"summary": "Fel telefonnummer på webben", "seen_at": seen})
    assert r.status_code == 201, r.text
    r = await post(stack, account_id, "watch-items", OUTSIDER, item)
    assert r.status_code == 403 and "R-20" in r.json()["detail"]["message"]
    r = await post(stack, account_id, "watch-items", ADMIN, {**item, "link": "http://x"})
    assert r.status_code == 422

    r = await stack.http.get("/api/watch-items", params={"municipality": "exempelby"},
                             headers=as_(MANAGER))
    assert r.status_code == 200
    assert [(w["item_id"], w["reported_by"]) for w in r.json()] == [
        ("W-1", ADMIN), ("W-2", "nils.kultur")]
    r = await stack.http.get("/api/watch-items", params={"municipality": "exempelby"},
                             headers=as_(OUTSIDER))
    assert r.status_code == 200 and r.json() == []  # manages no unit with open items

    r = await post(stack, account_id, "watch-items/W-1/resolve", ADMIN, {"note": "Klart"})
    assert r.status_code == 403
    r = await post(stack, account_id, "watch-items/W-1/resolve", MANAGER,
                   {"note": "Rättat med tidningen; inlägg på fredag"})
    assert r.status_code == 200, r.text
    assert [w["item_id"] for w in r.json()["status"]["open_watch_items"]] == ["W-2"]
    r = await post(stack, account_id, "watch-items/W-1/resolve", MANAGER, {"note": "igen"})
    assert r.status_code == 422
    r = await post(stack, account_id, "watch-items/nope/resolve", MANAGER, {"note": "?"})
    assert r.status_code == 404
    r = await stack.http.get(f"/api/accounts/{account_id}/watch-items", headers=as_(MANAGER))
    rows = {w["item_id"]: w for w in r.json()}
    assert rows["W-1"]["status"] == "resolved" and rows["W-1"]["resolved_by"] == MANAGER
    assert rows["W-2"]["status"] == "open"


async def test_r44_a_staff_post_with_a_personnummer_is_held_until_the_manager_confirms(
        stack: Stack) -> None:
    """R-44 over HTTP: an admin records a post with its text; a personnummer
    holds it (not counted, nothing in published_posts, the text kept
    nowhere); its writer may not confirm it; the communications unit sends
    one back, the manager confirms another: recorded with who confirmed."""
    account_id = await active_account(stack)
    now = datetime.now(UTC).isoformat()
    body = {"post_id": "104000000000001_601", "published_at": now,
            "text": "Grattis till 19121212-1212 som vann tävlingen!"}
    r = await post(stack, account_id, "posts", ADMIN, body)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"]["posts_this_week"] == 0
    [held] = view["held_posts"]
    assert held["post_id"] == "104000000000001_601" and held["written_by"] == ADMIN
    assert ADMIN not in held["approvers"] and MANAGER in held["approvers"]
    assert await stack.pool.fetchval("SELECT count(*) FROM published_posts") == 0
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE data::text LIKE '%19121212%'") == 0
    r = await post(stack, account_id, "posts/104000000000001_601/confirm", ADMIN, {})
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["key"] == "post.confidential_who"

    r = await post(stack, account_id, "posts", ADMIN, {
        **body, "post_id": "104000000000001_602",
        "text": "Uppgifterna är sekretessbelagda; se bilagan."})
    assert len(r.json()["held_posts"]) == 2
    r = await post(stack, account_id, "posts/104000000000001_602/send-back", COMMS,
                   {"comment": "Ta bort hänvisningen och publicera om"})
    assert r.status_code == 200, r.text
    r = await post(stack, account_id, "posts/104000000000001_601/confirm", MANAGER, {})
    assert r.status_code == 200, r.text
    assert r.json()["held_posts"] == [] and r.json()["status"]["posts_this_week"] == 1
    rows = await stack.pool.fetch("SELECT post_id, recorded_by FROM published_posts")
    assert [(p["post_id"], p["recorded_by"]) for p in rows] == [("104000000000001_601", ADMIN)]
    types = await timeline_types(stack, account_id)
    assert (types.count("PostHeld"), types.count("PostSentBack"), types.count("PostRecorded")
            ) == (2, 1, 1)
