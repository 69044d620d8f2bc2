"""Issue 16, the message-case rules across the whole span, on the
time-skipping server with the real activities on PostgreSQL and the fake
Graph API: the "no message unanswered" chain never goes silent for a year
(R-22, R-23), a forwarded question's officer who never answers goes on to
the communications unit (R-24), what screening found decides removal (R-31),
outgoing texts are screened (R-44), a copy before every deletion (R-45),
"watched" and closing with a reason (R-46, R-22)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain import message as msg
from domain.redaction import RemovalCategory
from tests.support import COMMS_2, DEPUTY, MANAGER, eventually, keep_history
from tests.workflows.test_message_workflow import (
    ADMIN,
    ADMINS,
    AUTHORITIES,
    OFFICER,
    SIG,
    TZ,
    MessageHarness,
    W,
    events_of,
    receive,
    result_of,
)
from tests.workflows.test_message_workflow import mh as mh  # noqa: F401 - the fixture
from workflows.message import RedactRequest, RegisterRequest, RespondRequest

EVERYONE = sorted({MANAGER, DEPUTY, *ADMINS, *AUTHORITIES.communications})
REGISTRAR = sorted(AUTHORITIES.registrars)[0]


def chases(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == "MessageEscalated"
            and ":chase-" in e["data"]["step"]]


async def live_for(mh: MessageHarness, handle: WorkflowHandle[Any, Any],
                   span: timedelta) -> list[dict[str, Any]]:
    """Let the case live `span` on the skipping clock, a month at a time,
    waiting each month until the worker has written the steps then due."""
    end = await mh.env.get_current_time() + span
    while (now := await mh.env.get_current_time()) < end:
        await mh.env.sleep(min(timedelta(days=30), end - now))
        target = await mh.env.get_current_time() - timedelta(days=6)

        def caught_up(events: list[dict[str, Any]], target: datetime = target) -> bool:
            return max(e["occurred_at"] for e in events) >= target

        await eventually(lambda: events_of(mh, handle.id), caught_up, seconds=60)
    return await events_of(mh, handle.id)


async def test_r22_r23_an_unanswered_message_is_chased_for_a_year_then_closed_with_a_reason(
        mh: MessageHarness) -> None:
    """R-22 "No message is left unanswered": after the reminder and the two
    escalations, a year of chases on every working day to the manager, the
    admins and the communications unit; still open; the case officer may
    not close it, the communications unit closes it with a reason, and the
    case ends."""
    handle = await receive(mh, "Varför har ingen svarat om bygglovet?")
    events = await live_for(mh, handle, timedelta(days=366))
    chased = chases(events)
    assert len(chased) > 240, len(chased)
    assert all(sorted(c["data"]["recipients"]) == EVERYONE for c in chased)
    days = [c["occurred_at"].astimezone(ZoneInfo(TZ)).date() for c in chased]
    assert len(set(days)) == len(days) and all(d.weekday() < 5 for d in days)
    assert max(b - a for a, b in zip(days, days[1:], strict=False)) <= timedelta(days=5)
    state: msg.MessageState = await handle.query(W.state)
    assert state.stage is msg.Stage.OPEN and msg.next_deadline(state) is not None
    # A year of chasing fits one history (continue-as-new is suggested at
    # 4,096 events; test_message_continue_as_new covers the longer span).
    assert len((await handle.fetch_history()).events) < 4096
    notified = await mh.pool.fetchval(
        "SELECT count(DISTINCT step) FROM notifications WHERE case_id = $1", handle.id)
    assert notified >= len(chased) + 3

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.close_case, msg.CloseCase(actor=OFFICER, reason="Inget"))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    closed = await handle.execute_update(W.close_case, msg.CloseCase(
        actor=COMMS_2, reason="Avsändaren fick svar per brev, dnr 2026/118"))
    assert closed.state.stage is msg.Stage.CLOSED
    assert (await result_of(handle)).stage is msg.Stage.CLOSED
    last = (await events_of(mh, handle.id))[-1]
    assert (last["event_type"], last["actor"]) == ("CaseClosed", COMMS_2)


async def test_r24_an_officer_who_never_answers_goes_on_to_the_communications_unit(
        mh: MessageHarness) -> None:
    """R-24: forwarded; the officer never drafts. The officer is reminded,
    the manager and admins hear at five working days, the communications
    unit at ten, then the chase (the officer among its recipients) for a
    year; an admin acknowledges the citizen and hands the case to another
    officer, whose draft is published."""
    handle = await receive(mh, "Jag vill överklaga beslutet om bygglov.")
    await handle.execute_update(W.forward, msg.Forward(actor=ADMIN, officer=OFFICER,
                                                       note="Bygglov"))
    events = await live_for(mh, handle, timedelta(days=366))
    steps = [e["data"]["step"].rsplit(":", 1)[1] for e in events
             if e["event_type"] in {"MessageReminderSent", "MessageEscalated"}]
    assert {"officer_reminder", "officer_deadline", "officer_escalation",
            "answer_deadline"} <= set(steps)
    escalated = next(e for e in events if e["data"].get("step", "").endswith(
        ":officer_escalation"))
    assert set(AUTHORITIES.communications) <= set(escalated["data"]["recipients"])
    chased = chases(events)
    assert len(chased) > 230 and all(OFFICER in c["data"]["recipients"] for c in chased)

    ack = await handle.execute_update(W.acknowledge, msg.Acknowledge(
        actor=ADMIN, text="Tack, frågan ligger hos en handläggare."))
    assert ack.state.stage is msg.Stage.FORWARDED
    assert ack.state.citizen_stage is msg.Stage.ACKNOWLEDGED
    handed = await handle.execute_update(W.forward, msg.Forward(
        actor=ADMIN, officer="petra.handl", note="Elin är föräldraledig"))
    assert handed.state.officer == "petra.handl"
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.submit_draft, msg.SubmitDraft(actor=OFFICER, text="x"))
    await handle.execute_update(W.submit_draft, msg.SubmitDraft(
        actor="petra.handl", text="Skicka överklagandet till bygglov@exempelby.se."))
    done = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Skicka överklagandet till bygglov@exempelby.se."))
    assert done.state.stage is msg.Stage.ANSWERED


async def test_r31_a_personnummer_is_registered_before_deletion_whatever_the_category(
        mh: MessageHarness) -> None:
    """R-31: the admin calls it profanity; screening found a personnummer:
    it cannot be disposed of as trivial, and removing it registers it first."""
    handle = await receive(mh, "Fan, min son 19121212-1212 fick inte plats!")
    await eventually(lambda: handle.query(W.state), lambda s: s.hidden)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.dispose, msg.Dispose(actor=ADMIN, decision_id="SM-1"))
    assert "R-31" in str(refused.value.cause)
    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.PROFANITY_OR_OBSCENITY, reason="Svordom"))
    assert done.state.stage is msg.Stage.REDACTED and done.state.diarium_number
    types = [e["event_type"] for e in await events_of(mh, handle.id)]
    assert types == ["MessageReceived", "MessageHidden", "MessageRegistered", "MessageRedacted"]
    assert await mh.pool.fetchval("SELECT confidential FROM diarium") is True
    await result_of(handle)
    keep_history(await handle.fetch_history(), "message_screened_personnummer_registered")


async def test_r45_r33_advertising_is_captured_before_deletion_by_default(
        mh: MessageHarness) -> None:
    """R-45 (Kristiansand, the default): a copy before every deletion, also of
    advertising, deleted under its disposal decision (R-33)."""
    handle = await receive(mh, "Köp billiga solglasögon nu med rabatt på https://spam.example.com")
    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.ADVERTISING, reason="Reklam"))
    assert done.state.stage is msg.Stage.REDACTED
    redacted = (await events_of(mh, handle.id))[-1]["data"]
    assert redacted["preserved_copy"] is True and redacted["decision_id"] == "SM-2"
    assert await mh.pool.fetchval("SELECT count(*) FROM preserved_copies "
                                  "WHERE case_id = $1", handle.id) == 1


async def test_r44_an_answer_with_a_personnummer_is_not_published_until_confirmed(
        mh: MessageHarness) -> None:
    """R-44: nothing reaches the platform until the manager confirms."""
    handle = await receive(mh, "Har min ansökan kommit in?")
    comments = f"/v21.0/{handle.id.split(':')[-1]}/comments"
    held = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Ansökan för 19121212-1212 har kommit in."))
    assert held.state.stage is msg.Stage.AWAITING_APPROVAL and held.platform is None
    assert mh.graph.requests_to("POST", comments) == []
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=ADMIN))
    back = await handle.execute_update(W.send_back_reply, msg.SendBackReply(
        actor=MANAGER, comment="Inga personnummer i svar"))
    assert back.state.stage is msg.Stage.OPEN
    done = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Ja, din ansökan har kommit in."))
    assert done.state.stage is msg.Stage.ANSWERED
    posted = [p.form["message"] for p in mh.graph.requests_to("POST", comments)]
    assert posted == [f"Ja, din ansökan har kommit in.\n{SIG}"]
    # answered, then registered, so the case ends
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    await result_of(handle)
    keep_history(await handle.fetch_history(), "message_outgoing_held_then_answered")


async def test_r46_r50_watched_then_disposed_of_when_its_date_comes(
        mh: MessageHarness) -> None:
    """R-46 (Mora): watched, with who and why; R-50: of minor importance, it
    is disposed of under SM-1 after 30 days ("gallras vid inaktualitet"):
    the content goes and the disposal log names the decision and who."""
    handle = await receive(mh, "Vilken fin solnedgång över sjön ikväll.",
                           policy=msg.MessagePolicy(watched_allowed=True))
    done = await handle.execute_update(W.watch, msg.Watch(
        actor=ADMIN, reason="En kommentar utan fråga"))
    assert done.state.stage is msg.Stage.WATCHED
    assert done.state.dispose_on is not None
    assert await mh.pool.fetchval("SELECT count(*) FROM message_contents "
                                  "WHERE case_id = $1", handle.id) == 1
    assert (await result_of(handle)).stage is msg.Stage.DISPOSED
    events = await events_of(mh, handle.id)
    watched = events[-2]
    assert (watched["event_type"], watched["actor"], watched["data"]["reason"]) == (
        "MessageWatched", ADMIN, "En kommentar utan fråga")
    assert events[-1]["event_type"] == "MessageDisposed"
    assert events[-1]["occurred_at"] >= done.state.dispose_on
    assert await mh.pool.fetchval("SELECT count(*) FROM message_contents "
                                  "WHERE case_id = $1", handle.id) == 0
    log = await mh.pool.fetchrow("SELECT * FROM disposal_log WHERE case_id = $1", handle.id)
    assert (log["decision_id"], log["decided_by"]) == ("SM-1", ADMIN)


async def test_r50_a_removal_to_be_kept_is_registered_and_filed_with_its_case(
        mh: MessageHarness) -> None:
    """R-50: "Ska det bevaras ska det ... diarieföras och arkiveras i
    ärendeakt": registered first, then removed, the removal naming the number."""
    handle = await receive(mh, "Du är en jävla idiot, Kalle på tekniska.")
    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.SEXISM_OR_HARASSMENT, reason="Trakasserier",
        keep=True))
    assert done.state.stage is msg.Stage.REDACTED and done.state.diarium_number
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == [
        "MessageReceived", "MessageRegistered", "MessageRedacted"]
    assert events[-1]["data"]["filed_as"] == done.state.diarium_number
    assert await mh.pool.fetchval("SELECT confidential FROM diarium") is False


async def test_r44_r39_confirmed_then_approved_by_crisis_management_then_posted(
        mh: MessageHarness) -> None:
    """R-44 then R-39: the manager confirms the held text; crisis management
    still approves it before anything reaches the platform."""
    from tests.workflows.test_message_crisis_workflow import KRISLEDNING, receive_in_crisis

    handle = await receive_in_crisis(mh, "Gäller beslutet min son?", through=True)
    comments = f"/v21.0/{handle.id.split(':')[-1]}/comments"
    held = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Beslutet om 19121212-1212 gäller."))
    assert held.state.pending_reply is not None
    assert held.state.pending_reply.held_for == "confidential"
    onward = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=MANAGER))
    assert onward.state.stage is msg.Stage.AWAITING_APPROVAL and onward.platform is None
    assert onward.state.pending_reply is not None
    assert onward.state.pending_reply.held_for == "crisis"
    assert mh.graph.requests_to("POST", comments) == []
    done = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    assert done.state.stage is msg.Stage.ANSWERED
    assert len(mh.graph.requests_to("POST", comments)) == 1


async def test_r34_criticism_is_not_removed_and_an_unsupported_removal_is_flagged(
        mh: MessageHarness) -> None:
    """R-34 "criticism is answered, not deleted": refused, nothing recorded;
    a defamation removal screening did not support goes through and the
    manager and the communications unit are notified to look at it."""
    critical = await receive(mh, "Skandal! Snöröjningen på vår gata är uselt skött, "
                                 "det är oacceptabelt.")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle_redact(critical, RemovalCategory.DEFAMATION_OR_INSULT)
    assert "R-34" in str(refused.value.cause)
    assert [e["event_type"] for e in await events_of(mh, critical.id)] == ["MessageReceived"]

    other = await receive(mh, "Hon som jobbar i receptionen vet vi ju allt om.")
    done = await handle_redact(other, RemovalCategory.DEFAMATION_OR_INSULT)
    assert done.state.stage is msg.Stage.REDACTED
    reviewers = {MANAGER, DEPUTY, *AUTHORITIES.communications}
    rows = await eventually(
        lambda: mh.pool.fetch("SELECT recipient, step FROM notifications WHERE case_id = $1",
                              other.id), lambda r: len(r) >= len(reviewers))
    assert {r["recipient"] for r in rows} == reviewers
    assert all("removal_review" in r["step"] for r in rows)


async def handle_redact(handle: WorkflowHandle[Any, Any], category: RemovalCategory) -> Any:
    return await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=category, reason="Pekar ut en anställd"))


async def test_r50_an_answered_case_is_chased_for_a_year_until_disposed_of(
        mh: MessageHarness) -> None:
    """R-50 ("ska gallras vid inaktualitet", "diarieföras och arkiveras i
    ärendeakt"): answered, neither registered nor disposed of, the admins
    are reminded, the manager hears, then a year of chases on every working
    day to the manager, the admins and the communications unit; the case
    stays answered. An admin disposes of it as a minor record: the chase
    stops at once, and on the decision's date the content goes."""
    handle = await receive(mh, "Hur dags öppnar återvinningscentralen?")
    done = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Klockan 7 på vardagar."))
    assert done.state.stage is msg.Stage.ANSWERED and not done.state.done
    events = await live_for(mh, handle, timedelta(days=366))
    steps = [e["data"]["step"].rsplit(":", 1)[1] for e in events
             if e["event_type"] in {"MessageReminderSent", "MessageEscalated"}]
    assert {"records_reminder", "records_escalation"} <= set(steps)
    reminder = next(e for e in events if e["data"].get("step", "").endswith(
        ":records_reminder"))
    assert sorted(reminder["data"]["recipients"]) == sorted(ADMINS)
    chased = chases(events)
    assert len(chased) > 240, len(chased)
    assert all(sorted(c["data"]["recipients"]) == EVERYONE for c in chased)
    assert all(c["data"]["stage"] == "answered" for c in chased)
    days = [c["occurred_at"].astimezone(ZoneInfo(TZ)).date() for c in chased]
    assert max(b - a for a, b in zip(days, days[1:], strict=False)) <= timedelta(days=5)
    # The last chase is recent: it never went silent.
    now = await mh.env.get_current_time()
    assert now - chased[-1]["occurred_at"] < timedelta(days=10)
    state: msg.MessageState = await handle.query(W.state)
    assert state.stage is msg.Stage.ANSWERED and msg.awaits_records(state)

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.dispose, msg.Dispose(actor=OFFICER, decision_id="SM-1"))
    scheduled = await handle.execute_update(W.dispose, msg.Dispose(actor=ADMIN,
                                                                   decision_id="SM-1"))
    assert scheduled.state.stage is msg.Stage.ANSWERED and scheduled.state.dispose_on
    count = len(chases(await events_of(mh, handle.id)))
    await mh.env.sleep(timedelta(days=20))
    assert len(chases(await events_of(mh, handle.id))) == count  # acted on: no more chases
    assert (await result_of(handle)).stage is msg.Stage.DISPOSED
    last = (await events_of(mh, handle.id))[-1]
    assert (last["event_type"], last["data"]["decision_id"]) == ("MessageDisposed", "SM-1")
    assert await mh.pool.fetchval("SELECT count(*) FROM message_contents WHERE case_id = $1",
                                  handle.id) == 0


async def test_r50_an_answered_case_registered_by_the_registrar_ends(
        mh: MessageHarness) -> None:
    """R-50, R-28: answered, reminded, then registered by a registrar: the
    case ends answered with its diarium number; no chase after."""
    handle = await receive(mh, "Jag vill lämna synpunkter på detaljplanen.")
    await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Tack, synpunkterna går till planenheten."))
    events = await live_for(mh, handle, timedelta(days=40))
    assert chases(events)
    registered = await handle.execute_update(W.register, RegisterRequest(
        actor=REGISTRAR, record_class="Synpunkter på detaljplan"))
    assert registered.state.diarium_number and registered.state.done
    result = await result_of(handle)
    assert result.stage is msg.Stage.ANSWERED
    assert (await events_of(mh, handle.id))[-1]["event_type"] == "MessageRegistered"
