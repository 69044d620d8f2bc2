"""Chat channels for units (issue 13): one post per notification to a
Microsoft Teams incoming webhook (a MessageCard) or a generic JSON webhook.
The post names the account, what is wanted and the link; nothing a citizen
wrote. A 4xx other than 408/429 is permanent; anything else is retried."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.mail import Notice, link_for, local_due
from adapters.mail_texts import kind_text, text


class PermanentChatError(Exception):
    pass


def payload(fmt: str, notice: Notice, *, lang: str, tz: str, base_url: str,
            key: str) -> dict[str, Any]:
    what = kind_text(lang, notice.kind)
    account = notice.account_name or text(lang, "no_account")
    link = link_for(base_url, notice)
    due = local_due(notice.due, tz)
    if fmt == "teams":
        facts = [{"name": text(lang, "account"), "value": account}]
        if due:
            facts.append({"name": text(lang, "due"), "value": due})
        return {
            "@type": "MessageCard", "@context": "https://schema.org/extensions",
            "summary": f"{what} – {account}", "title": what,
            "sections": [{"facts": facts}],
            "potentialAction": [{"@type": "OpenUri", "name": text(lang, "open"),
                                 "targets": [{"os": "default", "uri": link}]}],
        }
    return {"id": key, "kind": notice.kind, "title": what, "account": account,
            "deadline": due or None, "link": link,
            "text": f"{what} – {account}" + (f" ({due})" if due else "") + f": {link}"}


async def post(http: httpx.AsyncClient, url: str, body: dict[str, Any], key: str,
               seconds: float) -> None:
    response = await http.post(url, json=body, timeout=seconds,
                               headers={"Idempotency-Key": key})
    if response.status_code < 300:
        return
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentChatError(f"webhook answered {response.status_code}")
    raise RuntimeError(f"webhook answered {response.status_code}")
