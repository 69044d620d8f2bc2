"""The account page's forms over HTTP (what a browser without JavaScript
posts): send back and amend (R-03), admins and 2FA (R-12, R-13), message
settings (R-43), each by the person whose step it is, and the same posts by
others refused with nothing recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from cli import load_directory_file
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, sign_in
from tests.support import COMMS, MANAGER, REQUESTER, ROOT, assessment, request_fields

# Account reads are for people of the account's municipality.
COLLEAGUE = {"X-Kanalvakt-Actor": "elin.strand"}


async def _events(stack: Stack, account_id: str) -> list[str]:
    return [e["event_type"] for e in
            (await stack.http.get(f"/api/accounts/{account_id}/timeline",
                                  headers=COLLEAGUE)).json()]


async def test_send_back_and_amend_through_the_pages(stack: Stack) -> None:
    """R-03: the communications unit sends the request back; the requester
    sees the task, amends on the prefilled form and resubmits."""
    api = {"X-Kanalvakt-Actor": REQUESTER}
    r = await stack.http.post("/api/accounts", headers=api,
                              json={**request_fields(), "municipality_id": "exempelby"})
    account_id = r.json()["account_id"]
    base = f"/api/accounts/{account_id}"
    await stack.http.post(f"{base}/approve", headers={"X-Kanalvakt-Actor": MANAGER},
                          json={"admins_equipped": True})
    for kind in ("ros", "dpia"):
        await stack.http.post(f"{base}/risk-assessments", headers=api,
                              json=assessment(kind, datetime.now(UTC).date()))
    async with browser(stack) as comms:
        token = await sign_in(comms, COMMS)
        r = await comms.post(f"/accounts/{account_id}/act/sign_off", data={
            "csrf_token": token, "decision": "send_back", "comment": ""})
        assert r.status_code == 422 and "Skriv vad som måste ändras" in r.text  # nothing recorded
        r = await comms.post(f"/accounts/{account_id}/act/sign_off", data={
            "csrf_token": token, "decision": "send_back",
            "comment": "Målgruppen behöver beskrivas närmare"})
        assert r.status_code == 303
    async with browser(stack) as elin:
        token = await sign_in(elin, REQUESTER)
        tasks = await elin.get("/tasks")
        assert "Komplettera begäran" in tasks.text
        form = await elin.get(f"/accounts/{account_id}/amend")
        assert form.status_code == 200 and "Unga vuxna i Exempelby" in form.text  # prefilled
        fields = {**{k: v for k, v in request_fields().items()
                     if isinstance(v, str)},
                  "dialogue_wanted": "yes", "hours_per_week": "8", "opens": "08:00",
                  "closes": "16:30", "admin_1": REQUESTER, "admin_2": "johan.berg"}
        fields["target_audience"] = ""
        r = await elin.post(f"/accounts/{account_id}/amend",
                            data={"csrf_token": token, **fields})
        assert r.status_code == 422 and 'id="f-target_audience-error"' in r.text
        fields["target_audience"] = "Unga vuxna 18–29 år som bor i Exempelby"
        r = await elin.post(f"/accounts/{account_id}/amend",
                            data={"csrf_token": token, **fields, "comment": "Förtydligat"})
        assert r.status_code == 303, r.text
    state = (await stack.http.get(base, headers=COLLEAGUE)).json()["state"]
    assert state["stage"] == "awaiting_signoff"
    assert state["request"]["target_audience"].startswith("Unga vuxna 18–29")
    assert (await _events(stack, account_id)).count("RequestAmended") == 1


async def test_admins_two_factor_and_settings_through_the_pages(stack: Stack,
                                                                database_url: str) -> None:
    """R-13: only the unit's manager appoints and removes admins; R-12: an
    admin confirms their own 2FA; R-43: the manager changes the message
    settings. A wrong person's post is 403 and records nothing."""
    account_id = await active_account(stack)
    page = f"/accounts/{account_id}"
    async with browser(stack) as elin:  # an admin, not the manager
        token = await sign_in(elin, REQUESTER)
        shown = await elin.get(page)
        assert "Lägg till administratör" not in shown.text
        before = await _events(stack, account_id)
        r = await elin.post(f"{page}/act/add_admin", data={"csrf_token": token,
                                                           "person": "anna.lind"})
        assert r.status_code == 403
        assert await _events(stack, account_id) == before
    async with browser(stack) as anna:
        token = await sign_in(anna, MANAGER)
        assert "Lägg till administratör" in (await anna.get(page)).text
        r = await anna.post(f"{page}/act/add_admin", data={"csrf_token": token,
                                                           "person": "no.such.person.x"})
        assert r.status_code == 422 and "no.such.person.x finns inte" in r.text
        assert 'id="f-add_admin-person-error"' in r.text
        r = await anna.post(f"{page}/act/add_admin", data={"csrf_token": token,
                                                           "person": MANAGER})
        assert r.status_code == 303
        r = await anna.post(f"{page}/act/remove_admin", data={
            "csrf_token": token, "person": "johan.berg", "reason": "Byter tjänst"})
        assert r.status_code == 303
        shown = await anna.get(page)
        assert "Bekräfta 2FA för Anna Lind" in shown.text  # her own
        r = await anna.post(f"{page}/act/two_factor", data={"csrf_token": token,
                                                            "person": MANAGER})
        assert r.status_code == 303
        r = await anna.post(f"{page}/act/message_settings", data={
            "csrf_token": token, "opens": "09:00", "closes": "15:00",
            "answer_rule": "office_hours", "answer_office_hours": "8",
            "signature": "required"})
        assert r.status_code == 303, r.text
        shown = await anna.get(page)
        assert "09:00–15:00" in shown.text and "inom 8 kontorstimmar" in shown.text
    state = (await stack.http.get(f"/api/accounts/{account_id}", headers=COLLEAGUE)).json()["state"]
    assert sorted(state["admins"]) == [MANAGER, REQUESTER]
    assert all(a["two_factor"] for a in state["admins"].values())
    assert state["message_policy"]["signature"] == "required"
    # The JSON API refuses an admin who is not in the directory, too.
    r = await stack.http.post(f"/api/accounts/{account_id}/admins",
                              headers={"X-Kanalvakt-Actor": MANAGER},
                              json={"person": "no.such.person.x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "person"]
    # A Norwegian municipality's person reads the intranet in bokmål.
    await load_directory_file(database_url, ROOT / "deploy" / "directory" / "fjordvik.yaml")
    async with browser(stack) as ingrid:
        await sign_in(ingrid, "ingrid.haugen", municipality="fjordvik")
        shown = await ingrid.get("/tasks")
        assert '<html lang="nb">' in shown.text and "Mine oppgaver" in shown.text
