"""Rendering a page: Jinja2 templates in web/templates/ with the layout
(`base.html`), the language's `t()`, the signed-in person and the CSRF token.

    from web.rendering import render
    return await render(request, "my_page.html", {"rows": rows})

Every template extends `base.html` and fills `{% block title %}` and
`{% block content %}`. In the context, always: `t` (texts, web/i18n.py:
`t("signed_in_as", name=...)` is gettext, `t.n("register.caption", count)`
ngettext, `t.number(x)` a number in the reader's format), `lang`, `viewer` (a web.identity.Viewer or
None), `csrf_token` (put `{{ csrf_field() }}` in every form that posts),
`dev_signin`, `path`, `fmt_time` (an ISO time or datetime in a time zone, for
deadlines, in the reader's locale: "2026-11-23 16:30" in Swedish,
"23.11.2026, 16:30" in bokmål). Jinja2's i18n extension is installed and its
`_()`, `gettext()` and `ngettext()` use the reader's catalog too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from domain.core import platform_name
from domain.country import DEFAULT_TIMEZONE
from texts import CatalogText
from web import i18n
from web.identity import Viewer, current_viewer
from web.security import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
# The extension's gettext/ngettext are the reader's, given per request in the
# context (render() below); these globals only serve a template rendered
# without a request.
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.translator(i18n.DEFAULT).gettext, i18n.translator(i18n.DEFAULT).ngettext,
    newstyle=False)
# `{{ x.platform|platform }}`: the platform's own spelling ("LinkedIn").
templates.env.filters["platform"] = platform_name

_RULE = r"R-\d{2}[a-z]?"
_RULES = rf"{_RULE}(?:\s*(?:,|/|&|och|og|and)\s*{_RULE})*"
# "(R-37, R-38)" alone in its brackets; ", R-05)" at the end of other words in
# brackets; "(R-05, " at their start; "R-39: " before a sentence.
_ALONE = re.compile(rf"\s*\(\s*{_RULES}\s*\)")
_AT_END = re.compile(rf"\s*[,;]\s*{_RULES}\s*(?=\))")
_AT_START = re.compile(rf"(?<=\()\s*{_RULES}\s*[,;:]\s*")
_PREFIX = re.compile(rf"(?:^|(?<=[.!?:;]\s)|(?<=[\"«„“]))\s*{_RULES}\s*:\s*")
_ANY = re.compile(_RULE)


def rules_named(*texts: object) -> list[str]:
    """The rule ids the texts name, each once, in order."""
    found: list[str] = []
    for text in texts:
        if isinstance(text, str):
            found.extend(_ANY.findall(text))
    return list(dict.fromkeys(found))


def plain_text(value: Any) -> Any:
    """A printed catalog text without its rule references (issue 14).
    Anything else as it is: what people wrote (a citizen's message, a note,
    a reason) is never changed on the page, even where it names a rule,
    and neither are numbers or Markup the page built."""
    if not isinstance(value, CatalogText) or "R-" not in value:
        return value
    text = _ALONE.sub("", value)
    text = _AT_END.sub("", text)
    text = _AT_START.sub("", text)
    stripped = _PREFIX.sub("", text)
    if stripped != text and text[:1] != stripped[:1]:
        stripped = stripped[:1].upper() + stripped[1:]
    return stripped.replace(" .", ".").replace("( ", "(")


templates.env.finalize = plain_text


def why_disclosure(t: i18n.Translate) -> Any:
    """`why(text, ...)`: a "Varför?" disclosure with the rules the texts
    name, or nothing when they name none."""
    def why(*texts: object) -> Markup:
        rules = rules_named(*texts)
        if not rules:
            return Markup("")
        return Markup('<details class="why"><summary>{}</summary>{}</details>').format(
            t("why"), t("why.rule", rule=", ".join(rules)))
    return why


def language_of(request: Request, viewer: Viewer | None) -> str:
    return i18n.choose_language(request.cookies.get(i18n.COOKIE),
                                viewer.country if viewer else None,
                                request.headers.get("accept-language"))


def fmt_time(value: str | datetime | None, tz: str = DEFAULT_TIMEZONE,
             t: i18n.Translate | None = None) -> str:
    """A moment in the given zone (deadlines are shown in the municipality's
    time, where office hours are counted) in the reader's short form (Babel):
    '2026-11-23 16:30' in Swedish, the default."""
    moment, t = _moment(value), t or i18n.translator(i18n.DEFAULT)
    if moment is None:
        return ""
    return t.when(moment) if moment.tzinfo is None else t.when(moment, tz)


def fmt_deadline(value: str | datetime | None, tz: str = DEFAULT_TIMEZONE,
                 t: i18n.Translate | None = None, now: datetime | None = None) -> str:
    """A deadline shown to a person, in words in the municipality's zone
    (issue 14): "senast fredag 18 december kl. 16.30", "i dag kl. 16.30"
    (texts.Texts.by); a naive moment keeps the short form."""
    moment, t = _moment(value), t or i18n.translator(i18n.DEFAULT)
    if moment is None:
        return ""
    return t.when(moment) if moment.tzinfo is None else t.by(moment, tz, now or datetime.now(UTC))


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def render(request: Request, template: str, context: dict[str, Any] | None = None,
                 *, status_code: int = 200, viewer: Viewer | None = None) -> HTMLResponse:
    if viewer is None:
        viewer = await current_viewer(request)
    lang = language_of(request, viewer)
    token = csrf_token(request)
    t = i18n.translator(lang)
    ctx: dict[str, Any] = {
        "t": t,
        "gettext": t.gettext,  # jinja2.ext.i18n's _() and gettext()
        "ngettext": t.ngettext,
        "lang": lang,
        "languages": i18n.LANGUAGE_NAMES,
        "viewer": viewer,
        "csrf_token": token,
        "csrf_field": lambda: Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'),
        "dev_signin": bool(request.app.state.settings.dev_signin),
        "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "fmt_time": lambda value, tz="Europe/Stockholm": fmt_time(value, tz, t),
        "fmt_deadline": lambda value, tz="Europe/Stockholm": fmt_deadline(
            value, tz, t, (context or {}).get("now")),
        "why": why_disclosure(t),
    }
    ctx.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(request, template, ctx,
                                                        status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
