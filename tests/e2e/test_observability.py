"""Issue 12, observability of the web app against the real stack: request
ids, /livez and /readyz, /metrics by route template with the webhook's
acknowledgement latency and the database figures, and (R-31) no citizen's
text or identity number in any log line of the web app, the worker or the
feeder while a message with both is received, screened, hidden and searched
for."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid

import pytest

from deploy import worker_health
from deploy.logging_setup import configure_logging
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_webhook_intake import PAGE, cases, comment, deliver, delivery
from tests.support import REGISTRARS, eventually

IDENTITY_NUMBER = "19121212-1212"  # Skatteverket's test personnummer


def _samples(text: str, name: str) -> dict[str, float]:
    """`name{labels} value` lines of a Prometheus exposition, by their labels."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{.*\}})? (\S+)$", line)
        if m:
            found[m.group(1) or ""] = float(m.group(2))
    return found


async def test_request_ids_and_probes(stack: Stack) -> None:
    """A caller's X-Request-ID comes back; a missing or implausible one is
    replaced by a new one; /livez and /readyz answer with PostgreSQL and
    Temporal reachable."""
    r = await stack.http.get("/livez", headers={"X-Request-ID": "abc-123.x_Y"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123.x_Y"
    r = await stack.http.get("/livez")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    r = await stack.http.get("/livez", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    # Refusals by the inner middlewares carry one too (the id is outermost).
    r = await stack.http.get("/api/accounts/not-a-uuid", headers={"X-Request-ID": "r-404"})
    assert r.status_code in {401, 403, 404, 422} and r.headers["x-request-id"] == "r-404"
    r = await stack.http.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "postgresql": "ok", "temporal": "ok"}


async def test_metrics_by_route_template_with_webhook_latency_and_database_figures(
        stack: Stack) -> None:
    account_id = await active_account(stack, platform_account_id=PAGE)
    r = await stack.http.get(f"/api/accounts/{account_id}",
                             headers={"X-Kanalvakt-Actor": "elin.strand"})
    assert r.status_code == 200
    lag_before = worker_health.REGISTRY.get_sample_value("kanalvakt_feeder_lag_seconds_count")
    comment_id = f"{PAGE}_77_{uuid.uuid4().hex[:8]}"
    r = await deliver(stack, delivery(comment(comment_id, "När öppnar simhallen?")))
    assert r.status_code == 200, r.text
    assert len(await cases(stack, 1)) == 1

    # The case's read model can be written (by its workflow's first activity)
    # before the feeder marks the intake row started: wait for that too.
    for _ in range(60):
        r = await stack.http.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        if _samples(text, "kanalvakt_intake_backlog").get('{state="pending"}') == 0.0:
            break
        await asyncio.sleep(0.5)
    http = _samples(text, "kanalvakt_http_request_duration_seconds_count")
    assert http['{method="GET",route="/api/accounts/{account_id}",status="2xx"}'] >= 1
    assert http['{method="POST",route="/api/accounts/{account_id}/approve",status="2xx"}'] >= 1
    # Route templates only: no account's id, no raw path in a label.
    assert account_id not in text
    acks = _samples(text, "kanalvakt_webhook_ack_seconds_count")
    assert acks == {'{platform="meta",status="200"}': 1.0}
    assert _samples(text, "kanalvakt_cases_open")['{kind="account",stage="active"}'] == 1.0
    open_messages = sum(v for k, v in _samples(text, "kanalvakt_cases_open").items()
                        if 'kind="message"' in k)
    assert open_messages == 1.0
    assert _samples(text, "kanalvakt_intake_backlog") == {
        '{state="pending"}': 0.0, '{state="waiting_to_retry"}': 0.0, '{state="parked"}': 0.0}
    assert "kanalvakt_intake_oldest_age_seconds 0.0" in text
    deadlines = _samples(text, "kanalvakt_deadlines")
    assert set(deadlines) == {f'{{kind="{k}",state="{s}"}}' for k in ("account", "message")
                              for s in ("due", "overdue")}
    assert deadlines['{kind="message",state="overdue"}'] == 0.0
    assert "# TYPE kanalvakt_escalations_total counter" in text
    # The feeder (in this process, as in the worker's) timed the start.
    lag_after = worker_health.REGISTRY.get_sample_value("kanalvakt_feeder_lag_seconds_count")
    assert (lag_after or 0) >= (lag_before or 0) + 1


async def test_r31_no_citizen_text_or_identity_number_in_any_log_line(
        stack: Stack, capfd: pytest.CaptureFixture[str]) -> None:
    """R-31 (confidential content is captured into its case and nowhere
    else): a comment with an identity number and a marker text is delivered,
    screened, captured and hidden (by hand: no token) and searched for in
    the diarium by both; every log line of web, worker and feeder, at DEBUG,
    and everything else the processes write, is read for them."""
    await active_account(stack, platform_account_id=PAGE)
    marker = f"Kvmarkor{uuid.uuid4().hex[:10]}"
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    try:
        comment_id = f"{PAGE}_77_{uuid.uuid4().hex[:8]}"
        text = f"{marker}: min son {IDENTITY_NUMBER} fick inte plats på förskolan"
        r = await deliver(stack, delivery(comment(comment_id, text, name=f"{marker} Kim")))
        assert r.status_code == 200, r.text
        case_id = f"message:facebook:{comment_id}"

        async def hidden() -> str | None:
            row = await stack.pool.fetchrow(
                "SELECT state FROM message_cases WHERE case_id = $1", case_id)
            return None if row is None else str(row["state"].get("pending_action"))
        assert await eventually(hidden, lambda a: a == "hide", seconds=30) == "hide"
        for q in (marker, IDENTITY_NUMBER, f"{marker} {IDENTITY_NUMBER}"):
            r = await stack.http.get("/api/diarium", params={"q": q},
                                     headers={"X-Kanalvakt-Actor": REGISTRARS[1],
                                              "X-Request-ID": "diarium-search"})
            assert r.status_code == 200, r.text
        r = await stack.http.get(f"/api/messages/{case_id}",
                                 headers={"X-Kanalvakt-Actor": "elin.strand"})
        assert r.status_code == 200 and marker in r.text  # the case has it, for its people
    finally:
        configure_logging()
    lines = buffer.getvalue().splitlines()
    written = capfd.readouterr()
    records = [json.loads(line) for line in lines]
    # The capture saw the flow: the access lines of the searches (query
    # string dropped, request id bound) and the feeder's and workflow's lines.
    searches = [r for r in records if r.get("logger") == "uvicorn.access"
                and "/api/diarium" in r["event"]]
    assert len(searches) == 3 and all(r["request_id"] == "diarium-search" for r in searches)
    assert any(r.get("workflow_id") == case_id for r in records), "no line of the case's"
    assert len(records) > 20
    digits = IDENTITY_NUMBER.replace("-", "")
    for where, content in (("log", buffer.getvalue()), ("stdout", written.out),
                           ("stderr", written.err)):
        for secret in (marker, IDENTITY_NUMBER, digits, "1212-1212", "min son"):
            assert secret not in content, f"{secret!r} in the {where}: " + next(
                (line for line in content.splitlines() if secret in line), "")
