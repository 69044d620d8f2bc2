"""Issue 9: every form of the intranet fuzzed, against the real stack. The
forms are not in the OpenAPI schema (they are pages), so they are taken
from the pages themselves: signed in (development sign-in) as an account
admin, the unit's manager, the communications unit and crisis management,
the account page, the message case page, the request form and the crisis
page are read, and every `<form method="post">` on them is posted with its
own fields, each either as the page filled it, or random text (NUL, RTL and
zero-width characters, 100 KB), or left out, and now and then fields of its
own: never a server error (5xx). The CSRF token is the session's, so the
posts reach the handlers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import csrf_of
from tests.e2e.test_api_fuzz import _a_case
from tests.support import COMMS, MANAGER, REQUESTER

EXAMPLES = 150
PEOPLE = [REQUESTER, MANAGER, COMMS, "eva.marklund"]
SKIPPED = ("/signout", "/signin", "/language")  # they end or change the session


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._open = Form(a.get("action", ""))
            self.forms.append(self._open)
        elif self._open is not None and a.get("name") and tag in {"input", "textarea",
                                                                   "select", "button"}:
            if a.get("type") == "file":
                return
            values = self._open.fields.setdefault(a["name"], [])
            if "value" in a:
                values.append(a["value"])
            elif a.get("type") == "checkbox":
                values.append("on")
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._open is not None and self._select:
            self._open.fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None
        elif tag == "select":
            self._select = None


def _forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


_odd = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.sampled_from(["\x00", "\u202e", "\u200b", "\u200d", "\ufeff", "å",
                                      "a", "\n", "\x7f", "1", "-", "@", " "]), max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "ö", "\x00"]), st.integers(0, 100_000)),
    st.sampled_from(["", "0", "-1", "99999999999999999999", "2026-02-30", "1970-01-01",
                     "on", "true", "null", "../../etc", "%00"]),
)


@st.composite
def _post(draw: st.DrawFn, forms: list[tuple[str, Form]]) -> tuple[str, str, dict[str, Any]]:
    person, form = draw(st.sampled_from(forms))
    data: dict[str, Any] = {}
    for name, values in form.fields.items():
        if name == "csrf_token":
            continue
        how = draw(st.integers(0, 5))  # mostly as the page has it, so the post goes deep
        if how <= 2 and values:
            data[name] = draw(st.sampled_from(values))
        elif how <= 4:
            data[name] = draw(_odd)
    if draw(st.integers(0, 5)) == 0:
        data.update(draw(st.dictionaries(st.text(min_size=1, max_size=10), _odd, max_size=3)))
    return person, form.action, data


def _fuzz(base_url: str, pages: dict[str, list[str]]) -> tuple[list[str], int, dict[int, int]]:
    clients: dict[str, httpx.Client] = {}
    tokens: dict[str, str] = {}
    forms: list[tuple[str, Form]] = []
    try:
        for person, paths in pages.items():
            client = httpx.Client(base_url=base_url, timeout=60,
                                  headers={"accept": "text/html"})
            clients[person] = client
            page = client.get("/signin")
            r = client.post("/signin/dev", data={"csrf_token": csrf_of(page.text),
                                                 "person": f"exempelby/{person}", "next": "/"})
            assert r.status_code == 303, r.text
            for path in paths:
                got = client.get(path)
                assert got.status_code == 200, (person, path, got.status_code)
                tokens[person] = csrf_of(got.text)
                forms += [(person, f) for f in _forms_of(got.text)
                          if f.action.startswith("/") and not f.action.startswith(SKIPPED)]
        actions = sorted({f.action for _, f in forms})
        print(f"{len(forms)} forms, {len(actions)} actions: {actions}")
        assert len(actions) >= 10, actions
        failures: list[str] = []
        statuses: dict[int, int] = {}

        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  derandomize=True, suppress_health_check=list(HealthCheck))
        @given(_post(forms))
        def post(example: tuple[str, str, dict[str, Any]]) -> None:
            person, action, data = example
            response = clients[person].post(action, data={**data,
                                                          "csrf_token": tokens[person]})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{response.status_code} POST {action} as {person}: "
                                f"{ {k: str(v)[:80] for k, v in data.items()} }")

        post()
        return failures, sum(statuses.values()), statuses
    finally:
        for client in clients.values():
            client.close()


@pytest.mark.timeout(170)
async def test_no_form_answers_a_server_error_to_fuzzed_input(stack: Stack) -> None:
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    case_id = await _a_case(stack, account_id)
    account, case = f"/accounts/{account_id}", f"/messages/{case_id}"
    pages = {REQUESTER: [account, case, "/accounts/new", f"{account}/messages/new"],
             MANAGER: [account],
             COMMS: [account, case], "eva.marklund": ["/crisis"]}

    started = time.monotonic()
    failures, posts, statuses = await asyncio.to_thread(
        _fuzz, str(stack.http.base_url).rstrip("/"), pages)

    print(f"fuzzed forms: {posts} posts in {time.monotonic() - started:.0f} s, "
          f"answers by status {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures)
    assert sum(n for s, n in statuses.items() if s in {200, 303}) >= 5  # some went through
