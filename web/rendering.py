"""Rendering a page: Jinja2 templates in web/templates/ with the layout
(`base.html`), the language's `t()`, the signed-in person and the CSRF token.

    from web.rendering import render
    return await render(request, "my_page.html", {"rows": rows})

Every template extends `base.html` and fills `{% block title %}` and
`{% block content %}`. In the context, always: `t` (texts, web/i18n.py),
`lang`, `viewer` (a web.identity.Viewer or None), `csrf_token` (put
`{{ csrf_field() }}` in every form that posts), `dev_signin`, `path`,
`fmt_time` (an ISO time or datetime in a time zone, for deadlines).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from domain.country import DEFAULT_TIMEZONE
from web import i18n
from web.identity import Viewer, current_viewer
from web.security import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def language_of(request: Request, viewer: Viewer | None) -> str:
    return i18n.choose_language(request.cookies.get(i18n.COOKIE),
                                viewer.country if viewer else None,
                                request.headers.get("accept-language"))


def fmt_time(value: str | datetime | None, tz: str = DEFAULT_TIMEZONE) -> str:
    """'2026-11-23 16:30' in the given zone (deadlines are shown in the
    municipality's time, where office hours are counted)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


async def render(request: Request, template: str, context: dict[str, Any] | None = None,
                 *, status_code: int = 200, viewer: Viewer | None = None) -> HTMLResponse:
    if viewer is None:
        viewer = await current_viewer(request)
    lang = language_of(request, viewer)
    token = csrf_token(request)
    ctx: dict[str, Any] = {
        "t": i18n.translator(lang),
        "lang": lang,
        "languages": i18n.LANGUAGE_NAMES,
        "viewer": viewer,
        "csrf_token": token,
        "csrf_field": lambda: Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'),
        "dev_signin": bool(request.app.state.settings.dev_signin),
        "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "fmt_time": fmt_time,
    }
    ctx.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(request, template, ctx,
                                                        status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
