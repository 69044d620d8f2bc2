"""The intranet's sign-in and protection over real HTTP: the development
sign-in (and its refusal in production), OpenID Connect against a local fake
provider with real signatures, CSRF on forms and on the JSON API, security
headers and cookie flags."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser
from starlette.requests import Request

import settings as app_settings
from tests.e2e.browser import expect_accessible, new_page, url
from tests.e2e.conftest import Stack
from tests.e2e.intranet import browser, csrf_of, sign_in
from tests.fakes.oidc import FakeOidcProvider
from tests.support import ROOT, request_fields
from web.app import create_app
from web.pages import UnsafeSettings, check_settings, post_logout_url

CLIENT_ID, CLIENT_SECRET = "kanalvakt-test", "a-client-secret"


# --------------------------------------------------------------------------- dev sign-in


def test_dev_signin_is_refused_in_production() -> None:
    """The development sign-in cannot be switched on by accident in production:
    the app refuses to start, naming the setting."""
    cfg = app_settings.Settings(env="production", dev_signin=True, session_secret="x" * 40,
                                oidc_issuer="https://login.example", oidc_client_id="c",
                                oidc_client_secret="s",
                                oidc_redirect_url="https://kv.example/auth/oidc/callback")
    with pytest.raises(UnsafeSettings, match="KANALVAKT_DEV_SIGNIN"):
        create_app(cfg=cfg)
    # Without it, the same production settings are accepted.
    check_settings(app_settings.Settings(**{**cfg.__dict__, "dev_signin": False}))
    # Production also needs a session secret, secure cookies and OIDC.
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(app_settings.Settings(env="production", dev_signin=False,
                                             session_secret="", cookie_secure=False))
    for setting in ("KANALVAKT_SESSION_SECRET", "KANALVAKT_COOKIE_SECURE",
                    "KANALVAKT_OIDC_ISSUER"):
        assert setting in str(refused.value)


def test_dev_signin_refused_at_process_start_in_production() -> None:
    """As an operator would start it (`uvicorn web.app:app` imports the module):
    the process exits with the reason."""
    env = {**os.environ, "KANALVAKT_ENV": "production", "KANALVAKT_DEV_SIGNIN": "1",
           "KANALVAKT_SESSION_SECRET": "y" * 40}
    done = subprocess.run([sys.executable, "-c", "import web.app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "KANALVAKT_DEV_SIGNIN" in done.stderr and "UnsafeSettings" in done.stderr


async def test_dev_signin_shows_banner_and_signs_in(stack: Stack) -> None:
    async with browser(stack) as http:
        page = await http.get("/signin")
        assert 'class="dev-banner"' in page.text and "Utvecklingsinloggning" in page.text
        assert "exempelby/elin.strand" in page.text  # people from the directory
        await sign_in(http, "elin.strand")
        home = await http.get("/register")
        assert "Inloggad som Elin Strand" in home.text
        assert 'class="dev-banner"' in home.text  # on every page


async def test_dev_signin_refuses_unknown_person(stack: Stack) -> None:
    async with browser(stack) as http:
        page = await http.get("/signin")
        r = await http.post("/signin/dev", data={"csrf_token": csrf_of(page.text),
                                                 "person": "exempelby/no.body"})
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
        assert "Inloggad som" not in (await http.get("/register")).text


# --------------------------------------------------------------------------- CSRF


async def test_form_post_without_csrf_token_is_refused(stack: Stack) -> None:
    """A form post without the session's token, or with another, is 403 and
    reaches no handler: the person stays signed in."""
    async with browser(stack) as http:
        token = await sign_in(http, "anna.lind")
        for data in ({}, {"csrf_token": "forged" + token[6:]}):
            r = await http.post("/signout", data=data)
            assert r.status_code == 403, r.text
            assert "Inget har ändrats" in r.text
        assert "Inloggad som Anna Lind" in (await http.get("/register")).text
        # The sign-in form itself needs a token, too.
        r = await http.post("/signin/dev", data={"person": "exempelby/erik.sjoberg"})
        assert r.status_code == 403
        assert "Inloggad som Anna Lind" in (await http.get("/register")).text
        r = await http.post("/signout", data={"csrf_token": token})
        assert r.status_code == 303
        assert "Inloggad som" not in (await http.get("/register")).text


async def test_api_with_session_needs_json(stack: Stack) -> None:
    """The JSON API acting as the session's person takes only a JSON body; a
    form-encoded or text/plain post (what a cross-site page can send) is 403
    and starts nothing."""
    async with browser(stack) as http:
        await sign_in(http, "elin.strand")
        body = {**request_fields(), "municipality_id": "exempelby"}
        import json

        for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
            headers = {"content-type": content_type} if content_type else {}
            r = await http.post("/api/accounts", content=json.dumps(body), headers=headers)
            assert r.status_code == 403, (content_type, r.text)
        assert (await http.get("/api/accounts")).json() == []
        r = await http.post("/api/accounts", json=body)
        assert r.status_code == 201, r.text


async def test_api_without_identity_is_401(stack: Stack) -> None:
    r = await stack.http.post("/api/accounts", json={**request_fields(),
                                                     "municipality_id": "exempelby"})
    assert r.status_code == 401


@pytest.fixture
def dev_signin_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "0")


async def test_actor_header_ignored_without_dev_signin(dev_signin_off: None,
                                                       stack: Stack) -> None:
    """Without the development sign-in the header names nobody: 401, nothing
    started; and the sign-in page offers no person list."""
    r = await stack.http.post("/api/accounts", headers={"X-Kanalvakt-Actor": "elin.strand"},
                              json={**request_fields(), "municipality_id": "exempelby"})
    assert r.status_code == 401
    page = await stack.http.get("/signin")
    assert "dev-banner" not in page.text and "elin.strand" not in page.text
    r = await stack.http.post("/signin/dev", data={"person": "exempelby/elin.strand"})
    assert r.status_code in {403, 404, 405}


# --------------------------------------------------------------------------- headers


async def test_security_headers_and_cookie_flags(stack: Stack) -> None:
    for path in ("/register", "/signin", "/api/register"):
        r = await stack.http.get(path)
        csp = r.headers["content-security-policy"]
        script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "unsafe-inline" not in script and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in r.headers  # plain http here
    async with browser(stack) as http:
        r = await http.get("/signin")
    cookie = r.headers["set-cookie"].lower()
    assert "kv_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


async def test_hsts_and_secure_cookie_over_https() -> None:
    """Behind TLS (scheme https): HSTS, and the session cookie is Secure."""
    from starlette.applications import Starlette
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from web.security import SecurityHeadersMiddleware

    async def hello(request: Request) -> PlainTextResponse:
        request.session["x"] = 1
        return PlainTextResponse("hi")

    app = SecurityHeadersMiddleware(
        SessionMiddleware(Starlette(routes=[Route("/", hello)]), secret_key="k" * 40,
                          https_only=True, same_site="lax"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://kv.example") as http:
        r = await http.get("/")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in r.headers["set-cookie"].lower()


# --------------------------------------------------------------------------- OIDC


@pytest.fixture
async def oidc(web_port: int, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[FakeOidcProvider]:
    """A fake OpenID provider, and the settings that point the app at it
    (before the `stack` fixture builds the app: request this one first)."""
    redirect = f"http://127.0.0.1:{web_port}/auth/oidc/callback"
    provider = FakeOidcProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                redirect_uri=redirect)
    async with provider.serving() as issuer:
        monkeypatch.setenv("KANALVAKT_OIDC_ISSUER", issuer)
        monkeypatch.setenv("KANALVAKT_OIDC_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("KANALVAKT_OIDC_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("KANALVAKT_OIDC_REDIRECT_URL", redirect)
        monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "0")
        yield provider


async def _oidc_sign_in(stack: Stack, http: httpx.AsyncClient) -> httpx.Response:
    """Follow the whole round trip: app -> provider -> app callback."""
    r = await http.get("/auth/oidc/start?next=/register")
    assert r.status_code == 303
    location = r.headers["location"]
    assert "code_challenge_method=S256" in location and "nonce=" in location
    r = await http.get(location)  # the provider's authorize: back to our callback
    assert r.status_code == 302
    return await http.get(r.headers["location"])


async def test_oidc_signs_in_the_directory_person(oidc: FakeOidcProvider,
                                                  stack: Stack) -> None:
    """Authorization code flow with PKCE, state and nonce; the ID token's
    signature checked against the provider's JWKS; the claim
    preferred_username (an e-mail address) names Anna Lind in the directory."""
    oidc.login = {"preferred_username": "Anna.Lind@exempelby.se"}
    async with browser(stack) as http:
        page = await http.get("/signin")
        assert "/auth/oidc/start" in page.text and "dev-banner" not in page.text
        r = await _oidc_sign_in(stack, http)
        assert r.status_code == 303 and r.headers["location"] == "/register", r.text
        assert "Inloggad som Anna Lind" in (await http.get("/register")).text
        # The API now acts as her (JSON body), and the dev header means nothing.
        r = await http.get("/api/diarium")
        assert r.status_code == 403  # she is no registrar: identity known, right refused
    assert len(oidc.token_requests) == 1 and oidc.token_requests[0]["verifier"]


@pytest.mark.parametrize("mischief", ["signature", "audience", "nonce", "expired", "issuer"])
async def test_oidc_refuses_a_bad_id_token(mischief: str, oidc: FakeOidcProvider,
                                           stack: Stack) -> None:
    oidc.login = {"preferred_username": "anna.lind@exempelby.se"}
    oidc.mischief = mischief
    async with browser(stack) as http:
        r = await _oidc_sign_in(stack, http)
        assert r.status_code == 401, (mischief, r.status_code)
        # Why, in the reader's language; the technical cause only in the log.
        assert "Inloggningen misslyckades: identiteten från inloggningstjänsten" in r.text
        assert "ID token" not in r.text and "JoseError" not in r.text
        assert "Inloggad som" not in (await http.get("/register")).text


async def test_oidc_refuses_wrong_state_and_unknown_person(oidc: FakeOidcProvider,
                                                           stack: Stack) -> None:
    oidc.login = {"email": "someone@elsewhere.example"}
    async with browser(stack) as http:
        r = await _oidc_sign_in(stack, http)
        assert r.status_code == 403 and "someone@elsewhere.example" in r.text
        # A callback this browser never started (state from elsewhere).
        r = await http.get("/auth/oidc/callback?code=abc&state=not-mine")
        assert r.status_code == 401
        assert "Inloggad som" not in (await http.get("/register")).text


# --------------------------------------------------------------------------- OIDC sign-out

_REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


def _provider_signout_url(html: str) -> str:
    found = _REFRESH.search(html)
    assert found, html
    return unescape(found.group(1))


def _session_cookie_bytes(http: httpx.AsyncClient) -> int:
    value = http.cookies.get("kv_session")
    assert value, "no session cookie"
    return len("kv_session=") + len(value)


async def test_signout_ends_the_session_at_the_provider_too(
        oidc: FakeOidcProvider, web_port: int, stack: Stack) -> None:
    """RP-Initiated Logout 1.0: with end_session_endpoint in the provider's
    discovery, /signout ends our session and sends the browser there with
    id_token_hint, client_id, post_logout_redirect_uri (default: our own
    /signed-out page) and state; back on /signed-out the state is checked."""
    back = f"http://127.0.0.1:{web_port}/signed-out"
    oidc.post_logout_redirect_uri = back  # registered at the provider
    oidc.login = {"preferred_username": "anna.lind@exempelby.se"}
    async with browser(stack) as http:
        assert (await _oidc_sign_in(stack, http)).status_code == 303
        page = await http.get("/register")
        assert "Inloggad som Anna Lind" in page.text
        assert _session_cookie_bytes(http) < 4096
        r = await http.post("/signout", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and "Utloggning" in r.text, r.text
        # Our session has ended before the browser leaves for the provider.
        assert "Inloggad som" not in (await http.get("/register")).text
        target = _provider_signout_url(r.text)
        assert target.startswith(f"{oidc.issuer}/logout?")
        query = parse_qs(urlsplit(target).query)
        assert query["post_logout_redirect_uri"] == [back]
        assert query["client_id"] == [CLIENT_ID] and query["state"][0]
        assert query["id_token_hint"][0].count(".") == 2  # the ID token she signed in with
        r = await http.get(target)  # the provider ends its session and sends her back
        assert r.status_code == 302, r.text
        assert r.headers["location"] == f"{back}?state={query['state'][0]}"
        page = await http.get(r.headers["location"])
        assert page.status_code == 200 and 'id="signed-out-provider"' in page.text
        assert "Du är utloggad från Kanalvakt och från kommunens inloggningstjänst." \
            in page.text
        # The state is good once: a second visit does not claim the provider's sign-out.
        again = await http.get(r.headers["location"])
        assert 'id="signed-out-unknown"' in again.text
    assert len(oidc.logout_requests) == 1 and oidc.logout_requests[0]["sub"]


async def test_signout_without_end_session_endpoint_says_the_provider_may_not_have(
        oidc: FakeOidcProvider, stack: Stack) -> None:
    """A provider whose discovery offers no end_session_endpoint: only our
    session ends, and the page says the provider's may still be open."""
    oidc.end_session = False
    oidc.login = {"preferred_username": "anna.lind@exempelby.se"}
    async with browser(stack) as http:
        assert (await _oidc_sign_in(stack, http)).status_code == 303
        page = await http.get("/register")
        r = await http.post("/signout", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/signed-out"
        page = await http.get("/signed-out")
        assert 'id="signed-out-local"' in page.text
        assert "du kan fortfarande vara inloggad där" in page.text
        assert "Inloggad som" not in (await http.get("/register")).text
    assert oidc.logout_requests == []


async def test_signout_with_an_id_token_too_big_for_the_cookie(
        oidc: FakeOidcProvider, web_port: int, stack: Stack) -> None:
    """An ID token with many group ids (as Entra ID sends) is not kept: the
    session cookie stays under the browsers' 4096 bytes, and the sign-out
    names us by client_id, which the provider accepts."""
    oidc.login = {"preferred_username": "anna.lind@exempelby.se",
                  "groups": [str(uuid.UUID(int=i)) for i in range(60)]}
    async with browser(stack) as http:
        assert (await _oidc_sign_in(stack, http)).status_code == 303
        page = await http.get("/register")
        assert "Inloggad som Anna Lind" in page.text
        assert _session_cookie_bytes(http) < 4096
        r = await http.post("/signout", data={"csrf_token": csrf_of(page.text)})
        target = _provider_signout_url(r.text)
        query = parse_qs(urlsplit(target).query)
        assert "id_token_hint" not in query and query["client_id"] == [CLIENT_ID]
        r = await http.get(target)
        assert r.status_code == 302
        page = await http.get(r.headers["location"])
        assert 'id="signed-out-provider"' in page.text
    assert len(oidc.logout_requests) == 1 and oidc.logout_requests[0]["sub"] is None


def test_post_logout_redirect_setting_and_default() -> None:
    """KANALVAKT_OIDC_POST_LOGOUT_REDIRECT_URL, else /signed-out on the
    origin of the OIDC redirect URL; https only in production."""
    request = Request({"type": "http", "method": "GET", "path": "/signout", "headers": [],
                       "scheme": "http", "server": ("kv.local", 8000), "query_string": b"",
                       "root_path": ""})
    base = dict(oidc_issuer="https://login.example", oidc_client_id="c")
    assert post_logout_url(app_settings.Settings(
        **base, oidc_redirect_url="https://kv.example/auth/oidc/callback"), request) == \
        "https://kv.example/signed-out"
    assert post_logout_url(app_settings.Settings(
        **base, oidc_redirect_url="https://kv.example/auth/oidc/callback",
        oidc_post_logout_redirect_url="https://intranet.example/bye"), request) == \
        "https://intranet.example/bye"
    assert post_logout_url(app_settings.Settings(**base, oidc_redirect_url=""), request) == \
        "http://kv.local:8000/signed-out"
    production = app_settings.Settings(
        **base, env="production", dev_signin=False, session_secret="x" * 40,
        cookie_secure=True, oidc_client_secret="s",
        oidc_redirect_url="https://kv.example/auth/oidc/callback",
        oidc_post_logout_redirect_url="http://kv.example/signed-out")
    with pytest.raises(UnsafeSettings, match="POST_LOGOUT_REDIRECT_URL"):
        check_settings(production)


async def test_signout_button_in_a_real_browser_reaches_the_provider(
        oidc: FakeOidcProvider, web_port: int, stack: Stack, chromium: Browser) -> None:
    """The sign-out button in Chromium: the CSP's form-action 'self' forbids
    redirecting the form post to the provider, so the way there is a page
    that goes on by itself; the browser ends on our /signed-out page."""
    oidc.login = {"preferred_username": "anna.lind@exempelby.se"}
    page = await new_page(chromium)
    await page.goto(url(stack, "/auth/oidc/start?next=/register"))
    assert "Inloggad som Anna Lind" in await page.locator(".who").inner_text()
    await page.get_by_role("button", name="Logga ut").click()
    await page.wait_for_url("**/signed-out?state=*")
    assert await page.locator("#signed-out-provider").is_visible()
    await expect_accessible(page, "signed-out")
    assert len(oidc.logout_requests) == 1
    assert await page.locator(".who").inner_text() == "Logga in"
