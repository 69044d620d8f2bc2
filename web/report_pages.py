"""Reports (R-42): how the municipality's accounts answer, per account and
per unit.

GET /reports                         the units (or accounts) I may see, side by side
GET /reports?unit=<id>               one unit: its figures and each account's
GET /reports?account=<id>            one account
    &from=YYYY-MM-DD&to=YYYY-MM-DD   messages received in the period (local days)

Figures: messages received, questions answered (R-22), responses, median and
90th-percentile response time in office hours (R-23; the account's own office
hours and holidays), the share answered within the deadline, what awaits a
response and is overdue, and removals by category (R-29). Response times are
computed by web.messages_api.response_times, the JSON API's own code, over
the cases' states; a unit's percentiles are over all its accounts' cases
together, not an average of averages.

Charts are SVG drawn on the server (no script), each with a caption and the
same numbers in a table beside it (WCAG 1.1.1; colour is never the only cue).

Who: an account's report, as its messages (web.messages_api.may_read_messages:
its admins, the unit's manager and deputy, the communications unit); a
unit's, its manager or deputy and the communications unit; the overview
shows only what the viewer may see. Anyone else gets 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from domain import readers
from domain.core import platform_name
from domain.country import DEFAULT_TIMEZONE
from domain.redaction import RemovalCategory
from readviews import accounts as account_views
from readviews import moderation as modq
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed, Viewer
from web.messages_api import ResponseTimes, may_read_messages, response_times
from web.page_texts import Refused
from web.registrar_pages import _period
from web.rendering import language_of, render

# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[float | None, ...]  # one per series
    texts: tuple[str, ...]  # the values as written beside the bars


def bar_chart(chart_id: str, title: str, bars: list[Bar], *, series: tuple[str, ...] = (),
              scale_max: float | None = None) -> Markup:
    """A horizontal bar chart as inline SVG: a label, then one bar per series
    with its value written beside it (so nothing is read from colour or
    length alone). `role="img"` with the title; the page puts the numbers in
    a table too."""
    label_w, bar_w, value_w = 230, 330, 110
    per_series = 18
    row_h = per_series * max(len(bars[0].values) if bars else 1, 1) + 14
    legend_h = 24 if len(series) > 1 else 0
    height = legend_h + row_h * max(len(bars), 1) + 6
    width = label_w + bar_w + value_w
    top = max((v for b in bars for v in b.values if v is not None), default=0.0)
    top = scale_max if scale_max is not None else (top or 1.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="{chart_id}-title" focusable="false">',
             f'<title id="{chart_id}-title">{escape(title)}</title>']
    classes = ("bar", "bar-alt")
    if len(series) > 1:
        x = label_w
        for i, name in enumerate(series):
            parts.append(f'<rect class="{classes[i % 2]}" x="{x}" y="4" width="14" height="14"/>'
                         f'<text x="{x + 20}" y="16">{escape(name)}</text>')
            x += 40 + 8 * len(name)
    for row, bar in enumerate(bars):
        y0 = legend_h + row * row_h
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        parts.append(f'<text x="0" y="{y0 + row_h / 2 + 4:.0f}">{escape(label)}</text>')
        for i, (value, text) in enumerate(zip(bar.values, bar.texts, strict=True)):
            y = y0 + 6 + i * per_series
            w = 0.0 if value is None else max(bar_w * min(value / top, 1.0), 1.0)
            parts.append(f'<rect class="{classes[i % 2]}" x="{label_w}" y="{y}" '
                         f'width="{w:.1f}" height="{per_series - 4}"/>')
            parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + per_series - 6}">'
                         f'{escape(text)}</text>')
    parts.append(f'<line class="axis" x1="{label_w}" y1="{legend_h}" x2="{label_w}" '
                 f'y2="{height - 2}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- figures


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _figures(times: ResponseTimes) -> dict[str, Any]:
    share = times.within_deadline_share
    return {"received": times.received, "answered": times.answered,
            "responded": times.responded, "median": _hours(times.median_office_hours),
            "p90": _hours(times.p90_office_hours),
            "within": None if share is None else round(100 * share),
            "within_count": times.within_deadline, "awaiting": times.awaiting_response,
            "overdue": times.overdue}


def _category_label(category: str, lang: str) -> str:
    return translator(lang)(f"removal.{RemovalCategory(category).value}")


async def _allowed_units(ctx: AppContext, viewer: Viewer) -> list[tuple[str, str]]:
    units = await ctx.directory.units(viewer.municipality_id)
    return [(u.id, u.name) for u in units
            if readers.may_read_unit_report(u.id, viewer.roles, viewer.manages)]


def report_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/reports")
    async def reports(request: Request, viewer: Signed) -> Response:
        """R-42: response times and removals, for an account, a unit or the
        whole of what the viewer may see."""
        ctx: AppContext = request.app.state.ctx
        lang = language_of(request, viewer)
        t = translator(lang)
        municipality = await ctx.directory.municipality(viewer.municipality_id)
        tz = municipality.timezone if municipality else DEFAULT_TIMEZONE
        values = {k: request.query_params.get(k, "").strip()
                  for k in ("unit", "account", "from", "to")}
        errors: dict[str, str] = {}
        lo, hi = _period(values, errors, t, tz, "from", "to")
        units = await _allowed_units(ctx, viewer)
        unit_names = {u.id: u.name for u in await ctx.directory.units(viewer.municipality_id)}
        scope, title, rows = await _report_scope(ctx, viewer, values, units, unit_names, t)

        account_ids = [r["account_id"] for r in rows]
        cases = {} if errors else await modq.citizen_cases_of(
            ctx.pool, account_ids, received_from=lo, received_to=hi)
        now = datetime.now(UTC)
        every = [c for a in account_ids for c in cases.get(a, [])]
        total = _figures(response_times(scope, every, now=now))
        breakdown = _breakdown(scope, rows, units, cases, now)
        redactions = [] if errors else await _redaction_rows(ctx, account_ids, lo, hi, lang)
        account_options = [("", t("reg.all"))] + [
            (r["account_id"], f"{r['account_name']} ({platform_name(r['platform'])})")
            for r in await modq.report_accounts(ctx.pool, viewer.municipality_id)
            if r["unit_id"] in {u for u, _ in units}
            or viewer.person_id in (r["state"].get("admins") or {})]
        return await render(request, "reports.html", {
            "scope": scope, "title": title, "values": values, "errors": errors,
            "units": [("", t("reg.all"))] + units, "account_options": account_options,
            "total": total, "breakdown": breakdown,
            "charts": _charts(breakdown, redactions, t),
            "redactions": redactions, "visible": bool(rows) or bool(units),
            "unit_names": unit_names,
        }, viewer=viewer, status_code=422 if errors else 200)

    return router


async def _report_scope(ctx: AppContext, viewer: Viewer, values: dict[str, str],
                        units: list[tuple[str, str]], unit_names: dict[str, str], t: Any
                        ) -> tuple[str, str, list[dict[str, Any]]]:
    """What the report covers (an account, a unit, the overview), its title
    and its accounts' rows, once the viewer may see it."""
    if values["account"]:
        try:
            uuid.UUID(values["account"])
        except ValueError:
            raise Refused(404, "no_account", "no such account") from None
        account = await account_views.account(ctx.pool, values["account"])
        if account is None:
            raise Refused(404, "no_account", "no such account")
        if account["municipality_id"] != viewer.municipality_id:
            raise Refused(403, "other_municipality", "another municipality's account")
        await may_read_messages(ctx, account, account["municipality_id"], viewer.person_id)
        return "account", account["account_name"], [account]
    if values["unit"]:
        if values["unit"] not in unit_names:
            raise Refused(404, "no_unit", "no such unit")
        if not readers.may_read_unit_report(values["unit"], viewer.roles, viewer.manages):
            raise Refused(403, "report_unit", f"{viewer.name} is neither the manager of "
                          f"{unit_names[values['unit']]} nor in the communications unit",
                          name=viewer.name, unit=unit_names[values["unit"]])
        return "unit", unit_names[values["unit"]], await modq.report_accounts(
            ctx.pool, viewer.municipality_id, unit_id=values["unit"])
    rows = await modq.report_accounts(ctx.pool, viewer.municipality_id)
    allowed_units = {u for u, _ in units}
    return "overview", t("rep.overview"), [
        r for r in rows if r["unit_id"] in allowed_units
        or viewer.person_id in (r["state"].get("admins") or {})]


def _breakdown(scope: str, rows: list[dict[str, Any]], units: list[tuple[str, str]],
               cases: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The accounts of a unit, or units (and lone accounts) in the overview."""
    breakdown: list[dict[str, Any]] = []
    if scope == "unit" or (scope == "overview" and not units):
        for r in rows:
            breakdown.append({"name": f"{r['account_name']} ({platform_name(r['platform'])})",
                              "href": f"/reports?account={r['account_id']}",
                              **_figures(response_times(r["account_id"],
                                                        cases.get(r["account_id"], []),
                                                        now=now))})
    elif scope == "overview":
        for unit_id, name in units:
            mine = [c for r in rows if r["unit_id"] == unit_id
                    for c in cases.get(r["account_id"], [])]
            breakdown.append({"name": name, "href": f"/reports?unit={unit_id}",
                              **_figures(response_times(unit_id, mine, now=now))})
    return breakdown


async def _redaction_rows(ctx: AppContext, account_ids: list[str], lo: Any, hi: Any,
                          lang: str) -> list[tuple[str, int]]:
    """Removals by category (R-29), most first."""
    redactions: dict[str, int] = {}
    if account_ids:
        for row in await modq.redactions_by_category(ctx.pool, account_ids,
                                                     occurred_from=lo, occurred_to=hi):
            redactions[row["category"]] = redactions.get(row["category"], 0) + row["n"]
    return sorted(((_category_label(c, lang), n) for c, n in redactions.items()),
                  key=lambda x: (-x[1], x[0]))


def _charts(breakdown: list[dict[str, Any]], redaction_rows: list[tuple[str, int]], t: Any
            ) -> dict[str, Markup]:
    def hours(h: float | None) -> str:
        return t("rep.na") if h is None else t("rep.h", h=t.number(h))

    charts = {}
    if breakdown:
        charts["times"] = bar_chart(
            "chart-times", t("rep.chart.times"),
            [Bar(b["name"], (b["median"], b["p90"]), (hours(b["median"]), hours(b["p90"])))
             for b in breakdown],
            series=(t("rep.legend.median"), t("rep.legend.p90")))
        charts["within"] = bar_chart(
            "chart-within", t("rep.chart.within"),
            [Bar(b["name"], (b["within"],),
                 (t("rep.na") if b["within"] is None else t("rep.share", p=b["within"]),))
             for b in breakdown], scale_max=100)
    if redaction_rows:
        charts["redactions"] = bar_chart(
            "chart-redactions", t("rep.chart.redactions"),
            [Bar(label, (float(n),), (str(n),)) for label, n in redaction_rows])
    return charts
