"""R-52 over the JSON API: "administrator (minst to) og publisent" (004):
the manager appoints publishers beside the admins and removes them; no one
else may, and only people of the directory are appointed."""

from __future__ import annotations

from tests.e2e.conftest import Stack, active_account
from tests.support import MANAGER, REQUESTER

PUBLISHER = "ali.karimi"  # kansli, in the sample directory


def as_(actor: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": actor}


async def test_r52_the_manager_appoints_and_removes_a_publisher_over_the_api(
        stack: Stack) -> None:
    account_id = await active_account(stack)
    base = f"/api/accounts/{account_id}"

    refused = await stack.http.post(f"{base}/publishers", headers=as_(REQUESTER),
                                    json={"person": PUBLISHER})
    assert refused.status_code == 403, refused.text
    unknown = await stack.http.post(f"{base}/publishers", headers=as_(MANAGER),
                                    json={"person": "no.such.person"})
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["detail"][0]["loc"][-1] == "person"

    r = await stack.http.post(f"{base}/publishers", headers=as_(MANAGER),
                              json={"person": PUBLISHER})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["publishers"] == [PUBLISHER]
    again = await stack.http.post(f"{base}/publishers", headers=as_(MANAGER),
                                  json={"person": PUBLISHER})
    assert again.status_code == 422 and again.json()["detail"]["key"] == "publisher.already"
    admin = await stack.http.post(f"{base}/publishers", headers=as_(MANAGER),
                                  json={"person": REQUESTER})  # already an admin
    assert admin.status_code == 422 and admin.json()["detail"]["key"] == "publisher.already"

    timeline = (await stack.http.get(f"{base}/timeline", headers=as_(MANAGER))).json()
    assert any(e["event_type"] == "PublisherAppointed" and e["actor"] == MANAGER
               for e in timeline), [e["event_type"] for e in timeline]

    r = await stack.http.post(f"{base}/publishers/{PUBLISHER}/remove", headers=as_(REQUESTER))
    assert r.status_code == 403, r.text
    r = await stack.http.post(f"{base}/publishers/{PUBLISHER}/remove", headers=as_(MANAGER))
    assert r.status_code == 200, r.text
    assert r.json()["state"]["publishers"] == []
    gone = await stack.http.post(f"{base}/publishers/{PUBLISHER}/remove", headers=as_(MANAGER))
    assert gone.status_code == 422 and gone.json()["detail"]["key"] == "publisher.not"
