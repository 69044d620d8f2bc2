"""End to end over HTTP on the dev server (R-39): with the municipality's
setting that all communication goes through crisis management (Kristiansand,
R-43), a reply waits for crisis management's approval over the JSON API and
the case page; the public register shows the crisis notice with the website
and phone while a crisis covers an account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from activities.crisis import send_crisis_settings
from cli import load_directory_file
from domain import message as msg
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, csrf_of, sign_in
from tests.e2e.test_messages_api import ADMIN, as_, case, decide, received
from tests.support import COMMS, DEPUTY, EXEMPELBY, eventually

KRISLEDNING = "eva.marklund"
BASE = "/api/municipalities/exempelby/crisis"


async def _through_crisis_management(database_url: str, tmp_path: Path,
                                     members: list[str] | None = None, *,
                                     communications_publishes: bool = False) -> None:
    """R-43: Exempelby's directory with Kristiansand's rule switched on, loaded
    as `kanalvakt directory load` does; `members` replace crisis management;
    `communications_publishes` switches R-47 on as in Fjordvik."""
    data: dict[str, Any] = yaml.safe_load(EXEMPELBY.read_text(encoding="utf-8"))
    data["municipality"]["crisis"]["communication_through_crisis_management"] = True
    data["municipality"]["crisis"]["communications_publishes"] = communications_publishes
    if members is not None:
        data["crisis_management"] = members
    path = tmp_path / "exempelby.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    await load_directory_file(database_url, path)


async def _events(stack: Stack, case_id: str) -> list[str]:
    return [r["event_type"] for r in await stack.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", case_id)]


async def _state(stack: Stack, case_id: str) -> msg.MessageState:
    handle = stack.client.get_workflow_handle(case_id)
    return msg.MessageState.model_validate(await handle.query("state"))


async def test_r39_kristiansand_replies_go_through_crisis_management_over_the_api_and_page(
        stack: Stack, database_url: str, tmp_path: Path) -> None:
    """R-39 (Kristiansand): an admin's answer waits (nothing goes to the
    platform); the other admin may not approve it (403, nothing recorded);
    crisis management reads the case, sends it back with a comment on the
    case page; the second answer is approved over the API and only then goes
    to the platform (here a person posts it by hand, as for any reply)."""
    await _through_crisis_management(database_url, tmp_path)
    account_id = await active_account(stack)
    r = await stack.http.post(BASE, json={"reason": "Vattenläcka", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    assert r.json()["active"]["through_crisis_management"] is True
    asked = await received(stack, account_id, "Är vattnet drickbart?")
    await eventually(lambda: _state(stack, asked), lambda s: s.crisis is not None)

    r = await decide(stack, asked, "respond", ADMIN, {"text": "Koka vattnet tills vidare."})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "awaiting_approval" and r.json()["platform"] is None
    before = await _events(stack, asked)
    assert before[-1] == "ReplySubmittedForApproval"
    r = await decide(stack, asked, "approve", DEPUTY, {})
    assert r.status_code == 403 and "R-39" in r.text
    r = await decide(stack, asked, "send-back", COMMS, {"comment": "Nej"})
    assert r.status_code == 403
    r = await decide(stack, asked, "send-back", KRISLEDNING, {"comment": " "})
    assert r.status_code == 422
    assert await _events(stack, asked) == before

    # Crisis management reads the case while the reply waits for it, and
    # sends it back on the case page.
    assert (await case(stack, asked, actor=KRISLEDNING))["stage"] == "awaiting_approval"
    notified = await stack.pool.fetch(
        "SELECT recipient, kind FROM notifications WHERE case_id = $1 AND kind = 'approval'",
        asked)
    assert {(n["recipient"], n["kind"]) for n in notified} == {
        ("eva.marklund", "approval"), ("karin.holm", "approval")}
    async with browser(stack) as page:
        await sign_in(page, KRISLEDNING)
        crisis_page = await page.get("/crisis")  # where crisis management finds it
        assert crisis_page.status_code == 200
        assert f'href="/messages/{asked}"' in crisis_page.text
        assert "Koka vattnet tills vidare." in crisis_page.text
        assert "All kommunikation går via krisledningen" in crisis_page.text
        html = await page.get(f"/messages/{asked}")
        assert html.status_code == 200, html.text
        assert "Koka vattnet tills vidare." in html.text
        assert 'action="/messages/' + asked + '/approve"' in html.text
        assert 'action="/messages/' + asked + '/send-back"' in html.text
        assert '/respond"' not in html.text  # crisis management is no admin here
        sent = await page.post(f"/messages/{asked}/send-back", data={
            "csrf_token": csrf_of(html.text), "comment": "Hänvisa till krisinformationen"})
        assert sent.status_code == 303, sent.text
    state = await _state(stack, asked)
    assert state.stage is msg.Stage.OPEN and state.sent_back == "Hänvisa till krisinformationen"
    assert await stack.pool.fetchval(
        "SELECT recipient FROM notifications WHERE case_id = $1 AND kind = 'sent_back'",
        asked) == ADMIN

    async with browser(stack) as page:  # the admin sees why, and the form says where it goes
        await sign_in(page, ADMIN)
        html = (await page.get(f"/messages/{asked}")).text
        assert "Hänvisa till krisinformationen" in html
        assert "Skicka till krisledningen" in html

    r = await decide(stack, asked, "respond", ADMIN, {"text": "Se kommunens krisinformation."})
    assert r.json()["state"]["stage"] == "awaiting_approval"
    r = await decide(stack, asked, "approve", KRISLEDNING, {})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["state"]["stage"] == "answered"
    assert result["platform"]["status"] == "awaiting_person"
    assert "Se kommunens krisinformation." in result["platform"]["detail"]
    timeline = (await case(stack, asked))["timeline"]
    assert [(e["event_type"], e["actor"]) for e in timeline][-5:] == [
        ("ReplySentBack", KRISLEDNING), ("ReplySubmittedForApproval", ADMIN),
        ("ReplyApproved", KRISLEDNING), ("MessageAnswered", ADMIN),
        ("ManualActionRequested", "kanalvakt")]
    # Once answered, crisis management has no more reason to read the case.
    assert (await stack.http.get(f"/api/messages/{asked}",
                                 headers=as_(KRISLEDNING))).status_code == 403


async def test_r39_the_public_register_points_to_the_website_and_phone_in_a_crisis(
        stack: Stack) -> None:
    """R-39: while a crisis covers an account, the public register (page and
    JSON, no sign-in) shows the crisis notice with the website and phone, in
    the reader's language; when it ends, the notice goes."""
    account_id = await active_account(stack)
    register = (await stack.http.get("/api/register")).json()
    assert [e["crisis"] for e in register] == [None]
    assert "krisinformation" not in (await stack.http.get("/register")).text

    r = await stack.http.post(BASE, json={"reason": "Storm", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    [entry] = (await stack.http.get("/api/register")).json()
    assert entry["account_id"] == account_id
    crisis = entry["crisis"]
    assert crisis is not None and "krisinformation" in crisis["notice"]
    assert crisis["website"] and crisis["website"] in crisis["notice"]
    assert crisis["phone"] and crisis["phone"] in crisis["notice"]

    for lang, heading, phone in [
            ("sv", "Krisläge: information och frågor", "Frågor per telefon"),
            ("nb", "Krisemodus: informasjon og spørsmål", "Spørsmål på telefon"),
            ("en", "Crisis mode: information and questions", "Questions by phone")]:
        page = await stack.http.get("/register", headers={"accept-language": lang})
        assert page.status_code == 200
        assert heading in page.text and phone in page.text, lang
        assert f'href="{crisis["website"]}"' in page.text
        assert 'href="tel:' + crisis["phone"].replace(" ", "") + '"' in page.text
        assert crisis["notice"].split(".")[0] in page.text

    r = await stack.http.post(f"{BASE}/end", json={"reason": "Över"}, headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    assert [e["crisis"] for e in (await stack.http.get("/api/register")).json()] == [None]
    assert "Krisläge: information" not in (await stack.http.get("/register")).text


async def test_r39_a_new_member_of_crisis_management_approves_a_waiting_reply(
        stack: Stack, database_url: str, tmp_path: Path) -> None:
    """R-39, R-43: the directory replaces a member of crisis management while
    a reply waits; loaded and sent to the crisis workflow (as `kanalvakt
    directory load` does), the crisis records the new approvers, the case
    follows, the member who left is refused (403, nothing recorded) and the
    new one approves."""
    await _through_crisis_management(database_url, tmp_path)
    account_id = await active_account(stack)
    r = await stack.http.post(BASE, json={"reason": "Skred"}, headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    asked = await received(stack, account_id, "Är vägen öppen?")
    await eventually(lambda: _state(stack, asked), lambda s: s.crisis is not None)
    r = await decide(stack, asked, "respond", ADMIN, {"text": "Vägen är avstängd i dag."})
    assert r.json()["state"]["stage"] == "awaiting_approval", r.text

    newcomer = "jonas.blom"
    await _through_crisis_management(database_url, tmp_path, members=["karin.holm", newcomer])
    sent = await send_crisis_settings(stack.pool, stack.client, "exempelby")
    assert sent is not None and sent.crisis_management == {"karin.holm", newcomer}
    crisis_events = await _events(stack, "crisis:exempelby")
    assert crisis_events[-2:] == ["CrisisSettingsLoaded", "CrisisApproversChanged"]
    state = await eventually(
        lambda: _state(stack, asked),
        lambda s: s.pending_reply is not None and newcomer in s.pending_reply.approvers)
    assert state.pending_reply is not None
    assert state.pending_reply.approvers == {"karin.holm", newcomer}

    before = await _events(stack, asked)
    # The member who left is no approver of the case any more: not even a
    # reader of it (the read models answer before the case is asked).
    r = await decide(stack, asked, "approve", KRISLEDNING, {})
    assert r.status_code == 403, r.text
    assert await _events(stack, asked) == before
    r = await decide(stack, asked, "approve", newcomer, {})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "answered"


async def test_r39_r47_a_removal_waits_and_the_communications_unit_publishes_the_reply(
        stack: Stack, database_url: str, tmp_path: Path) -> None:
    """R-39 and R-47 as in Fjordvik: an admin's removal waits for crisis
    management, whose case page says what waits, and is sent back; the
    admin's answer is approved by crisis management, then waits for the
    communications unit (the deputy is refused, told who publishes), which
    publishes it."""
    await _through_crisis_management(database_url, tmp_path, communications_publishes=True)
    account_id = await active_account(stack)
    r = await stack.http.post(BASE, json={"reason": "Storm", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    asked = await received(stack, account_id, "Här är hela filmen att ladda ner")
    await eventually(lambda: _state(stack, asked), lambda s: s.crisis is not None)

    r = await decide(stack, asked, "redact", ADMIN, {"category": "copyright_infringement",
                                                     "reason": "Upphovsrätt"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "awaiting_approval" and r.json()["platform"] is None
    async with browser(stack) as page:
        await sign_in(page, KRISLEDNING)
        html = await page.get(f"/messages/{asked}")
        assert html.status_code == 200, html.text
        # The rule behind "Varför?" (issue 14).
        assert "tas bort" in html.text and "regel R-39" in html.text
        # Said first, what waits: a removal, not "a reply"; so on /crisis too.
        assert "En borttagning av" in html.text and "Ett svar av" not in html.text
        listed = (await page.get("/crisis")).text
        assert "Borttagning av" in listed and f'href="/messages/{asked}"' in listed
    r = await decide(stack, asked, "send-back", KRISLEDNING, {"comment": "Svara i stället"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "open"

    r = await decide(stack, asked, "respond", ADMIN, {"text": "Vi hänvisar till kommunen."})
    assert r.json()["state"]["stage"] == "awaiting_approval"
    r = await decide(stack, asked, "approve", KRISLEDNING, {})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["pending_reply"]["held_for"] == "communications"
    async with browser(stack) as page:  # the unit, who publishes it, reads what waits
        await sign_in(page, COMMS)
        html = (await page.get(f"/messages/{asked}")).text
        assert "väntar på att kommunikationsenheten publicerar det" in html
        assert "Kan godkännas av:" in html
    r = await decide(stack, asked, "approve", DEPUTY, {})
    assert r.status_code == 403 and "R-47" in r.text and COMMS in r.text
    r = await decide(stack, asked, "approve", COMMS, {})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "answered"
    timeline = [(e["event_type"], e["actor"]) for e in (await case(stack, asked))["timeline"]]
    assert ("ReplyApproved", COMMS) in timeline and ("MessageAnswered", ADMIN) in timeline
    assert ("ReplySentBack", KRISLEDNING) in timeline
    assert "MessageRedacted" not in {t for t, _ in timeline}


async def test_r39_an_admins_hide_waits_for_crisis_management_over_the_api(
        stack: Stack, database_url: str, tmp_path: Path) -> None:
    """R-39 (Kristiansand) over the JSON API: an admin's hide waits for crisis
    management (the other admin may not approve it); crisis management
    approves and the hide is carried out as the admin's. A hide of
    confidential data on another message is carried out at once (R-31)."""
    await _through_crisis_management(database_url, tmp_path)
    account_id = await active_account(stack)
    r = await stack.http.post(BASE, json={"reason": "Översvämning", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    rude = await received(stack, account_id, "Alla i krisledningen är idioter")
    await eventually(lambda: _state(stack, rude), lambda s: s.crisis is not None)
    r = await decide(stack, rude, "hide", ADMIN, {"reason": "Kränkande"})
    assert r.status_code == 200, r.text
    waiting = r.json()["state"]
    assert waiting["stage"] == "awaiting_approval" and not waiting["hidden"]
    assert waiting["pending_reply"]["kind"] == "hide"
    async with browser(stack) as page:  # said as what it is, on the case and /crisis
        await sign_in(page, KRISLEDNING)
        html = (await page.get(f"/messages/{rude}")).text
        assert "En döljning av" in html and "Ett svar av" not in html
        assert "Döljning av" in (await page.get("/crisis")).text
    r = await decide(stack, rude, "approve", DEPUTY, {})
    assert r.status_code == 403 and "R-39" in r.text
    r = await decide(stack, rude, "approve", KRISLEDNING, {})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["hidden"] and r.json()["state"]["stage"] == "open"
    timeline = [(e["event_type"], e["actor"]) for e in (await case(stack, rude))["timeline"]]
    approved = timeline.index(("ReplyApproved", KRISLEDNING))
    assert timeline[approved + 1] == ("MessageHidden", ADMIN)

    health = await received(stack, account_id, "Grannen har en allvarlig sjukdom, vet ni?")
    await eventually(lambda: _state(stack, health), lambda s: s.crisis is not None)
    r = await decide(stack, health, "hide", ADMIN, {"reason": "Uppgifter om hälsa",
                                                    "confidential": True})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["hidden"] and r.json()["state"]["pending_reply"] is None
    assert (await _events(stack, health))[-1] in {"MessageHidden", "ManualActionRequested"}
