"""Helpers for the intranet's tests: sign in over HTTP as a person of the
directory (the development sign-in), read a page's CSRF token."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Stack

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def browser(stack: Stack) -> httpx.AsyncClient:
    """A client with its own cookie jar, like a browser of its own."""
    return httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=30,
                             headers={"accept": "text/html"})


async def sign_in(http: httpx.AsyncClient, person: str, municipality: str = "exempelby") -> str:
    """Sign in with the development sign-in; returns the session's CSRF token."""
    page = await http.get("/signin")
    assert page.status_code == 200, page.text
    r = await http.post("/signin/dev", data={
        "csrf_token": csrf_of(page.text), "person": f"{municipality}/{person}", "next": "/"})
    assert r.status_code == 303, r.text
    home = await http.get("/register")
    return csrf_of(home.text)
