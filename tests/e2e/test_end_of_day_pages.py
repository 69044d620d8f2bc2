"""Issue 14, item 8, on the pages: a deadline of working days (R-23's
calendar) is shown at the end of the office day, on the manager's My tasks
and on the account page, whatever the time of the request."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.conftest import Stack
from tests.e2e.intranet import browser, sign_in
from tests.support import MANAGER, REQUESTER, request_fields

TZ = ZoneInfo("Europe/Stockholm")


async def test_r01_r23_my_tasks_and_the_account_page_show_the_deadline_at_closing_time(
        stack: Stack) -> None:
    """R-01, R-17: the manager's task to decide on a request is due at 15:00,
    when the request's published monitoring hours close, on its working
    day; the page shows that time in words ("senast fredag 18 december kl.
    15.00", issue 14), the `<time>` element the same moment."""
    r = await stack.http.post("/api/accounts", headers={"X-Kanalvakt-Actor": REQUESTER},
                              json={**request_fields(monitoring_hours={"opens": "08:00:00",
                                                                      "closes": "15:00:00"}),
                                    "municipality_id": "exempelby"})
    assert r.status_code in (200, 201), r.text
    account_id = r.json()["account_id"]
    async with browser(stack) as anna:
        await sign_in(anna, MANAGER)
        for path in ("/tasks", f"/accounts/{account_id}"):
            page = (await anna.get(path)).text
            moments = [datetime.fromisoformat(m) for m in
                       re.findall(r'<time datetime="([^"]+)">(?:senast \w+ \d+ \w+|i dag|i morgon)'
                                  r' kl\. 15\.00</time>', page)]
            assert moments, (path, re.findall(r"<time[^>]*>[^<]*</time>", page))
            local = moments[0].astimezone(TZ)
            assert (local.hour, local.minute) == (15, 0), (path, local)
