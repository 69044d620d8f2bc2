"""The intranet's frame: sign-in (OpenID Connect, or the development
sign-in), sign-out, the language switch, the start page, the public
register, error pages, static files, and the security set-up of the whole
app (`install_intranet`, called by web.app.create_app).

A page module of its own (see web/account_pages.py) builds an APIRouter and
is included in `install_intranet`; its handlers take `viewer: Signed` (or
`MaybeSigned`), read forms with `await request.form()` (the CSRF middleware
has checked the token already), and answer with `await render(...)` or a
303 redirect after a successful post (POST-redirect-GET).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Scope

import settings as app_settings
import texts
from readviews import accounts as account_views
from readviews import people as people_views
from web import i18n
from web.account_pages import account_pages_router
from web.boundary import (
    BodyLimitMiddleware,
    TextCheckMiddleware,
    safe_errors,
    validation_response,
)
from web.crisis_pages import crisis_pages_router
from web.entry_pages import entry_pages_router
from web.identity import (
    ID_TOKEN_MAX,
    MaybeSigned,
    SignInRequired,
    current_viewer,
    sign_in,
    sign_out,
)
from web.message_pages import message_pages_router
from web.notification_pages import notification_pages_router
from web.oidc import OidcClient, OidcError, OidcFlow
from web.page_texts import Refused
from web.registrar_pages import registrar_pages_router
from web.rendering import language_of, render
from web.report_pages import report_pages_router
from web.rule_texts import detail_text
from web.rules14_pages import rules14_pages_router
from web.security import CsrfMiddleware, SecurityHeadersMiddleware
from web.upload_pages import upload_pages_router

log = structlog.get_logger("kanalvakt.web.pages")

SESSION_COOKIE = "kv_session"
# The session's note between POST /signout and GET /signed-out: "local" (the
# provider offers no sign-out), or the `state` sent to the provider.
SIGNED_OUT_KEY = "signed_out"
SECRET_FILE = "session-secret"


class UnsafeSettings(RuntimeError):
    """The settings would run the app unprotected; it refuses to start."""


def check_settings(cfg: app_settings.Settings) -> None:
    """Refuse, at start-up, what must never run in production."""
    if not cfg.production:
        return
    problems = []
    if cfg.dev_signin:
        problems.append("KANALVAKT_DEV_SIGNIN is on: the development sign-in lets anyone "
                        "be anyone")
    if len(cfg.session_secret) < 32:
        problems.append("KANALVAKT_SESSION_SECRET must be set (32 characters or more)")
    if not cfg.cookie_secure:
        problems.append("KANALVAKT_COOKIE_SECURE is off: session cookies must be Secure")
    if not cfg.oidc_enabled:
        problems.append("KANALVAKT_OIDC_ISSUER and KANALVAKT_OIDC_CLIENT_ID are not set: "
                        "nobody could sign in")
    else:
        if not (cfg.oidc_client_secret and cfg.oidc_redirect_url):
            problems.append("KANALVAKT_OIDC_CLIENT_SECRET and KANALVAKT_OIDC_REDIRECT_URL "
                            "must be set")
        if not cfg.oidc_issuer.startswith("https://"):
            problems.append("KANALVAKT_OIDC_ISSUER must be an https:// address")
        if cfg.oidc_post_logout_redirect_url and \
                not cfg.oidc_post_logout_redirect_url.startswith("https://"):
            problems.append("KANALVAKT_OIDC_POST_LOGOUT_REDIRECT_URL must be an https:// "
                            "address")
    if problems:
        raise UnsafeSettings("KANALVAKT_ENV=production, but: " + "; ".join(problems))


def session_secret(cfg: app_settings.Settings) -> str:
    """The configured secret; outside production, the local stack's file in
    the state folder, or else a random one for this process only."""
    if cfg.session_secret:
        return cfg.session_secret
    kept = app_settings.STATE_DIR / SECRET_FILE
    if kept.exists():
        return kept.read_text(encoding="utf-8").strip()
    log.warning("no KANALVAKT_SESSION_SECRET: sessions last until this process stops")
    return secrets.token_urlsafe(48)


def safe_next(value: str | None) -> str:
    """A local path to go on to, never another site (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def install_intranet(app: FastAPI, cfg: app_settings.Settings) -> None:
    check_settings(cfg)
    app.state.settings = cfg
    app.state.oidc = (OidcClient(issuer=cfg.oidc_issuer, client_id=cfg.oidc_client_id,
                                 client_secret=cfg.oidc_client_secret,
                                 redirect_url=cfg.oidc_redirect_url, scopes=cfg.oidc_scopes,
                                 claims=cfg.oidc_claims)
                      if cfg.oidc_enabled else None)

    async def refuse(scope: Scope, reason: str) -> Response:
        request = Request(scope)
        if scope["path"].startswith("/api/"):
            return JSONResponse({"detail": reason}, status_code=403)
        log.warning("form refused: CSRF token missing or wrong", path=scope["path"])
        return await render(request, "error.html",
                            {"status": 403, "message_key": "error.csrf"}, status_code=403)

    # Starlette runs the last added outermost: headers, then the body's size
    # limit, then the text check (both web/boundary.py, before anything else
    # reads the body), then the session, then CSRF (which reads the session).
    app.add_middleware(CsrfMiddleware, actor_header_allowed=cfg.dev_signin, refuse=refuse)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(cfg),
                       session_cookie=SESSION_COOKIE, max_age=cfg.session_max_age,
                       same_site="lax", https_only=cfg.cookie_secure or cfg.production)
    app.add_middleware(TextCheckMiddleware)
    app.add_middleware(BodyLimitMiddleware, default=cfg.max_body_bytes,
                       webhook=cfg.webhook_max_body_bytes, upload=cfg.upload_max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=cfg.production)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")
    app.include_router(_router(cfg))
    for router in page_routers():
        app.include_router(router)
    _error_pages(app)


def page_routers() -> list[APIRouter]:
    """The intranet's page modules, each an APIRouter: add yours here."""
    # upload_pages first: its /messages/{id}/screenshot-uploads is not a decision.
    return [upload_pages_router(),
            account_pages_router(), message_pages_router(), registrar_pages_router(),
            report_pages_router(), crisis_pages_router(), notification_pages_router(),
            rules14_pages_router(), entry_pages_router()]


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/healthz", "/docs", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "text/html") or \
        request.method == "POST"


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def to_signin(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/signin?next={_quote(error.next_path)}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def html_validation(request: Request, error: RequestValidationError) -> Response:
        """A page's address or query that does not parse (/accounts/not-a-uuid):
        the error page in the reader's language, not pydantic's English JSON;
        the API answers as FastAPI does."""
        if not _wants_html(request):
            return validation_response(error)
        in_path = any(e.get("loc", ("",))[0] == "path" for e in error.errors())
        status = 404 if in_path else 422
        return await render(request, "error.html", {
            "status": status, "message_key": "error.404" if in_path else "page.bad_request"},
            status_code=status)

    @app.exception_handler(ValidationError)
    async def command_invalid(request: Request, error: ValidationError) -> Response:
        """A request the route's own checks let through, but a command or
        model built from it refuses: still the caller's input, so a 422 (a
        500 made Meta and the forms retry what can never succeed). Logged,
        since it also means a route checks less than its command."""
        log.warning("request refused by a model the route builds", path=request.url.path,
                    model=error.title, errors=error.error_count())
        if not _wants_html(request):
            return JSONResponse({"detail": safe_errors(error.errors())}, status_code=422)
        return await render(request, "error.html", {
            "status": 422, "message_key": "page.bad_request"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def html_errors(request: Request, error: StarletteHTTPException) -> Response:
        if not _wants_html(request):
            return await http_exception_handler(request, error)
        detail = await _detail_text(request, error)
        key = {401: "error.401", 403: "error.403", 404: "error.404",
               409: "error.409"}.get(error.status_code, "error.title")
        return await render(request, "error.html",
                            {"status": error.status_code, "message_key": key,
                             "detail": detail}, status_code=error.status_code)


async def _detail_text(request: Request, error: StarletteHTTPException) -> str | None:
    """The error's detail in the reader's language: a `Refused`'s text, a
    rule's refusal by its key (web.rule_texts.detail_text), or a text a page
    made in the reader's language already; never Starlette's English status
    phrase ("Not Found"), which the page's own message says already."""
    t = i18n.translator(language_of(request, await current_viewer(request)))
    if isinstance(error, Refused):
        return error.text(t)
    if isinstance(error.detail, Mapping):
        return detail_text(t, error.detail) or None
    if not isinstance(error.detail, str):
        return None
    try:
        phrase = HTTPStatus(error.status_code).phrase
    except ValueError:
        phrase = ""
    return None if error.detail == phrase else error.detail


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _router(cfg: app_settings.Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    _frame_routes(router, cfg)
    _oidc_routes(router, cfg)
    _signout_routes(router, cfg)
    _language_and_register_routes(router, cfg)
    return router


def _frame_routes(router: APIRouter, cfg: app_settings.Settings) -> None:
    """The home page and the sign-in page."""
    @router.get("/")
    async def home(request: Request, viewer: MaybeSigned) -> Response:
        # Signed in, a person starts on what is wanted from them: "Mina
        # uppgifter" (the account pages are always installed; FastAPI 0.165
        # keeps included routers as one entry of app.routes, so looking for
        # a "/tasks" path there never found it and this page was shown).
        if viewer is not None:
            return RedirectResponse("/tasks", status_code=303)
        return await render(request, "home.html")

    @router.get("/signin")
    async def signin_page(request: Request, next: str | None = Query(None)) -> Response:
        people: list[dict[str, Any]] = []
        if cfg.dev_signin:
            people = await people_views.people_for_signin(request.app.state.ctx.pool)
        return await render(request, "signin.html", {
            "next": safe_next(next), "people": people,
            "oidc": request.app.state.oidc is not None,
            "error": request.query_params.get("error")})

    if cfg.dev_signin:
        @router.post("/signin/dev")
        async def dev_signin(request: Request) -> Response:
            form = await request.form()
            choice = str(form.get("person") or "")
            municipality_id, _, person_id = choice.partition("/")
            ctx = request.app.state.ctx
            if await ctx.directory.person(municipality_id, person_id) is None:
                people = await people_views.people_for_signin(ctx.pool)
                return await render(request, "signin.html", {
                    "next": safe_next(str(form.get("next") or "")), "people": people,
                    "oidc": request.app.state.oidc is not None,
                    "field_error": True}, status_code=422)
            sign_in(request, municipality_id, person_id, via="dev")
            log.info("signed in (development)", municipality_id=municipality_id,
                     person=person_id)
            return RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)


def _oidc_routes(router: APIRouter, cfg: app_settings.Settings) -> None:
    """Signing in with the municipality's identity provider (OIDC)."""
    @router.get("/auth/oidc/start")
    async def oidc_start(request: Request, next: str | None = Query(None)) -> Response:
        client: OidcClient | None = request.app.state.oidc
        if client is None:
            return await render(request, "error.html", {"status": 404,
                                                        "message_key": "error.404"},
                                status_code=404)
        try:
            url, flow = await client.start(safe_next(next))
        except OidcError as error:
            return await _signin_failed(request, error)
        request.session["oidc"] = flow.as_dict()
        return RedirectResponse(url, status_code=303)

    @router.get("/auth/oidc/callback")
    async def oidc_callback(request: Request, code: str | None = None,
                            state: str | None = None, error: str | None = None) -> Response:
        client: OidcClient | None = request.app.state.oidc
        if client is None:
            return await render(request, "error.html", {"status": 404,
                                                        "message_key": "error.404"},
                                status_code=404)
        flow = OidcFlow.from_dict(request.session.pop("oidc", None))
        try:
            signed = await client.finish(flow, state=state, code=code, error=error)
            who = client.who(signed.claims)
        except OidcError as failure:
            return await _signin_failed(request, failure)
        matches = await people_views.people_matching(
            request.app.state.ctx.pool, who, municipality_id=cfg.oidc_municipality or None)
        if len(matches) != 1:
            log.warning("OIDC sign-in of a person not (or not uniquely) in the directory",
                        matches=len(matches))
            return await render(request, "error.html", {
                "status": 403, "message_key": "signin.unknown", "message_values": {"who": who}},
                status_code=403)
        municipality_id, person_id = matches[0]
        sign_in(request, municipality_id, person_id, via="oidc", id_token=signed.id_token)
        if len(signed.id_token) > ID_TOKEN_MAX:
            log.info("ID token too big for the session cookie: sign-out names us by "
                     "client_id only", length=len(signed.id_token))
        log.info("signed in", municipality_id=municipality_id, person=person_id, via="oidc")
        return RedirectResponse(safe_next(flow.next_path if flow else "/"), status_code=303)


def _signout_routes(router: APIRouter, cfg: app_settings.Settings) -> None:
    """Signing out, here and at the identity provider."""
    @router.post("/signout")
    async def signout(request: Request) -> Response:
        """End Kanalvakt's session; after an OIDC sign-in, the provider's too
        (RP-Initiated Logout) when it offers an end_session_endpoint.

        The way to the provider is a page that goes on by itself (meta
        refresh, and a link), not a redirect: the CSP's form-action 'self'
        makes browsers refuse a form post redirected to another site."""
        ended = sign_out(request)
        client: OidcClient | None = request.app.state.oidc
        if ended.via != "oidc" or client is None:
            return RedirectResponse("/signin?signed_out=1", status_code=303)
        try:
            endpoint = await client.end_session_endpoint()
        except OidcError as failure:
            log.warning("the provider's discovery failed at sign-out", reason=str(failure))
            endpoint = None
        if endpoint is None:
            request.session[SIGNED_OUT_KEY] = "local"
            return RedirectResponse("/signed-out", status_code=303)
        state = secrets.token_urlsafe(24)
        request.session[SIGNED_OUT_KEY] = state
        target = client.logout_url(endpoint, id_token_hint=ended.id_token,
                                   post_logout_redirect_uri=post_logout_url(cfg, request),
                                   state=state)
        log.info("signed out; on to the provider's sign-out", hint=ended.id_token is not None)
        return await render(request, "signing_out.html", {"target": target})

    @router.get("/signed-out")
    async def signed_out(request: Request, state: str | None = Query(None)) -> Response:
        """Where the provider sends the browser back after its sign-out
        (post_logout_redirect_uri), and where a sign-out without the
        provider's lands: which one it was, the session's note says."""
        expected = request.session.pop(SIGNED_OUT_KEY, None)
        if expected == "local":
            outcome = "local"  # the provider offers no sign-out of its own
        elif isinstance(expected, str) and state and secrets.compare_digest(state, expected):
            outcome = "provider"
        else:
            outcome = "unknown"  # an old or foreign link: our session is ended anyway
        await current_viewer(request)
        return await render(request, "signed_out.html", {"outcome": outcome})


def _language_and_register_routes(router: APIRouter, cfg: app_settings.Settings) -> None:
    """The reader's language and the public register (R-07)."""
    @router.get("/lang/{code}")
    async def language(code: str, next: str | None = Query(None)) -> Response:
        response = RedirectResponse(safe_next(next), status_code=303)
        if (chosen := texts.language(code)) is not None:  # `no` is stored as `nb`
            response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True,
                                samesite="lax", secure=cfg.cookie_secure or cfg.production)
        return response

    @router.get("/register")
    async def register_html(request: Request, municipality: str | None = Query(None)
                            ) -> Response:
        """R-07: the public register of official channels; no sign-in."""
        entries = await account_views.public_register(request.app.state.ctx.pool,
                                                municipality_id=municipality)
        return await render(request, "register.html", {"entries": entries})


async def _signin_failed(request: Request, failure: OidcError) -> Response:
    """The page says why in the reader's language (`oidc.<key>`); the
    technical cause goes to the log only."""
    log.warning("OIDC sign-in failed", reason=str(failure), key=failure.key)
    viewer = await current_viewer(request)
    t = i18n.translator(language_of(request, viewer))
    reason = t(f"oidc.{failure.key}", **failure.params)
    return await render(request, "error.html", {
        "status": 401, "message_key": "signin.failed", "message_values": {"reason": reason}},
        status_code=401)


def post_logout_url(cfg: app_settings.Settings, request: Request) -> str:
    """Where the provider sends the browser after its sign-out: the setting,
    else /signed-out on the origin of the OIDC redirect URL (the app's public
    address), else on the address this request came to."""
    if cfg.oidc_post_logout_redirect_url:
        return cfg.oidc_post_logout_redirect_url
    if cfg.oidc_redirect_url:
        parts = urlsplit(cfg.oidc_redirect_url)
        return urlunsplit((parts.scheme, parts.netloc, "/signed-out", "", ""))
    return str(request.base_url).rstrip("/") + "/signed-out"
