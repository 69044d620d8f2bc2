"""Issue 9, property-based (hypothesis): no order of decisions on a message
case, by allowed and refused people, with any text (NUL, lone surrogates,
right-to-left and zero-width characters, 100 KB), wedges it.

For every sequence: `decide` raises nothing but the domain's own refusal
(DomainError) or, at the door, the command's validation error; every event
it produces can be put on the record (JSON that PostgreSQL's jsonb accepts:
no NUL, valid UTF-8, a bounded size); and from every state reached an
allowed sequence still finishes the case (R-22: no message left unanswered).
R-22..R-35 (answer, forward, draft, register, redact, dispose), R-39
(replies through crisis management), R-12/R-13 (admins changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from pydantic import ValidationError

from domain import account as acc
from domain import crisis as cr
from domain import snapshot as snap
from domain.account import DomainError
from domain.crisis_mode import CrisisMode
from domain.message import (
    SYSTEM,
    Acknowledge,
    ApplyCrisis,
    ApproveReply,
    AttachScreenshot,
    Command,
    ConfirmManualAction,
    Dispose,
    FireDue,
    Forward,
    Hide,
    MessageAnswered,
    MessageEvent,
    MessagePolicy,
    MessageRedacted,
    MessageState,
    Redact,
    Register,
    RequestManualAction,
    Respond,
    SendBackReply,
    SignatureRule,
    Stage,
    SubmitDraft,
    UpdateAdmins,
    awaits_records,
    decide,
    evolve,
    for_the_record,
    screenshot_needed,
)
from domain.records import StoredEvent
from domain.redaction import RemovalCategory
from tests.domain.test_message import (
    ADMINS,
    COMMS,
    MANAGER,
    OFFICER,
    REGISTRAR,
    STRANGER,
    receive_command,
)

CRISIS_LEAD = "kris.ledare"
PEOPLE = [*ADMINS, OFFICER, REGISTRAR, STRANGER, MANAGER, COMMS[0], CRISIS_LEAD, SYSTEM]
# Drawn more often, so sequences get past the first refusal.
ACTORS = st.sampled_from([*ADMINS, *ADMINS, ADMINS[0], OFFICER, CRISIS_LEAD, *PEOPLE])
START = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
MAX_EVENT_BYTES = 1_000_000  # store.eventstore.MAX_EVENT_BYTES

# Texts people really write, and what breaks a record: NUL and other
# controls, a lone surrogate (JSON can carry one), RTL and zero-width marks,
# and 100 KB.
SPECIAL = st.sampled_from([
    "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202eتحية\u202c", "\u200f\u200b\u200d", "\x07\x1b",
    " ", "", "x" * 100_000, "\x00" + "y" * 100_000, "Hej 👩\u200d👩\u200d👧!", "Tack.",
])
TEXTS = st.one_of(
    SPECIAL,
    st.sampled_from(["Tack för frågan.", "Svar: öppet 9–16.", "Sofia, kultur"]),
    st.text(max_size=40),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=10), SPECIAL, st.text(max_size=10)),
)
ACTIONS = ["acknowledge", "respond", "forward", "draft", "register", "redact", "dispose",
           "confirm", "hide", "approve", "send_back", "crisis", "crisis_off", "admins",
           "fire_due"]


def crisis(through: bool) -> CrisisMode:
    return CrisisMode(crisis_id="kris-1", municipality_id="umea", declared_at=START,
                      answer_within=timedelta(hours=2), checkin_every=timedelta(hours=1),
                      notice="Kris", through_crisis_management=through,
                      crisis_management=frozenset({CRISIS_LEAD}))


def build(action: str, actor: str, text: str, n: int) -> Command:
    """The command a person (or Kanalvakt) sends for `action`; it may be
    refused at the door (ValidationError) like a form's input."""
    match action:
        case "acknowledge":
            return Acknowledge(actor=actor, text=text)
        case "respond":
            return Respond(actor=actor, text=text, signed=n % 2 == 0,
                           signature=text[:300] if n % 3 == 0 else "Sofia, kultur")
        case "forward":
            return Forward(actor=actor, officer=OFFICER if n % 4 else text[:64] or "x",
                           note=text)
        case "draft":
            return SubmitDraft(actor=actor, text=text)
        case "register":
            return Register(actor=actor, diarium_number=f"KS 2026/{n}",
                            record_class=text[:100] or "x", confidential=n % 2 == 0)
        case "redact":
            category = list(RemovalCategory)[n % len(RemovalCategory)]
            return Redact(actor=actor, category=category, law="TF 1:1", reason=text,
                          preserved_copy=category is not RemovalCategory.ADVERTISING,
                          action="delete" if n % 2 else "hide")
        case "dispose":
            return Dispose(actor=actor, decision_id="SM-1" if n % 3 else text[:100] or "x")
        case "confirm":
            return ConfirmManualAction(actor=actor, platform_object_id=text[:300] or None)
        case "hide":
            return Hide(actor=actor, reason=text, preserved_copy=True)
        case "approve":
            return ApproveReply(actor=actor, reply_id=text[:40] or None)
        case "send_back":
            return SendBackReply(actor=actor, comment=text)
        case "crisis" | "crisis_off":
            return ApplyCrisis(actor=actor, crisis=crisis(n % 2 == 0)
                               if action == "crisis" else None)
        case "admins":
            return UpdateAdmins(actor=actor, admins=frozenset(
                {ADMINS[n % 2], text[:64] or STRANGER}))
        case _:
            return FireDue(actor=actor)


def recordable(event: MessageEvent) -> None:
    """As the record_events activity writes it: jsonb refuses \\u0000, UTF-8
    refuses a lone surrogate, and the store refuses more than 1 MB."""
    data = StoredEvent.of("id", for_the_record(event)).data
    dumped = json.dumps(data, ensure_ascii=False)
    assert "\\u0000" not in dumped, event.type
    assert len(dumped.encode("utf-8")) < MAX_EVENT_BYTES, event.type
    assert event.actor is None or "\x00" not in event.actor


@dataclass
class Run:
    """A case driven as the workflow drives it: a platform without an API
    asks a person to carry out each reply or removal (RequestManualAction)."""

    state: MessageState
    now: datetime
    by_hand: bool
    refused: int = 0
    recorded: list[str] = field(default_factory=list)

    def attempt(self, make: Callable[[], Command]) -> bool:
        try:
            command = make()
        except ValidationError:
            self.refused += 1
            return False  # refused at the door: nothing decided
        try:
            events = decide(self.state, command, now=self.now)
        except DomainError:
            self.refused += 1
            return False
        self.record(events)
        if self.by_hand:
            action = self.platform_action(events)
            if action is not None:
                text = next((getattr(e, "text", "") for e in events if hasattr(e, "text")), "")
                self.record(decide(self.state, RequestManualAction(
                    actor=SYSTEM, action=action, instruction=f"Gör så här:\n\n{text}",
                    instruction_params={"text": text}), now=self.now))
        return True

    @staticmethod
    def platform_action(events: list[MessageEvent]) -> Any:
        for event in events:
            if isinstance(event, MessageAnswered) or event.type == "AcknowledgementSent":
                return "reply"
            if isinstance(event, MessageRedacted):
                return "delete"
        return None

    def record(self, events: list[MessageEvent]) -> None:
        for event in events:
            recordable(event)
            self.state = evolve(self.state, event)
            self.recorded.append(event.type)

    def finish(self) -> None:
        """An allowed way to the end, whatever the state: confirm what is
        awaited by hand, let crisis management approve, answer, or wait for
        the disposal date (R-22, R-35)."""
        for _ in range(12):
            s = self.state
            if s.done:
                return
            admin = sorted(s.authorities.admins)[0] if s.authorities else ADMINS[0]
            if s.pending_action is not None and screenshot_needed(s):
                # R-30, R-45 (issue 14): the screenshot first, then "Klar".
                assert self.attempt(lambda a=admin: AttachScreenshot(
                    actor=a, upload_id="u-1", sha256="5" * 64, file_name="kommentar.png"))
            elif s.pending_action is not None:
                assert self.attempt(lambda a=admin: ConfirmManualAction(actor=a))
            elif s.stage is Stage.AWAITING_APPROVAL:
                assert s.pending_reply is not None
                approver = sorted(s.pending_reply.approvers)[0]
                assert self.attempt(lambda a=approver: ApproveReply(actor=a)), s
            elif awaits_records(s):  # answered, then registered
                assert self.attempt(lambda a=admin: Register(
                    actor=a, diarium_number="KS 2026/1", record_class="1.1"))
            elif s.stage is Stage.DISPOSAL_PENDING or s.dispose_on is not None:
                assert s.dispose_on is not None
                self.now = max(self.now, s.dispose_on)
                assert self.attempt(lambda: FireDue(actor=SYSTEM))
            else:
                assert self.attempt(lambda a=admin: Respond(actor=a, text="Svar.", signed=True,
                                                           signature="Sofia, kultur")), s
        raise AssertionError(f"not finished: {self.state.stage} {self.recorded}")


STEPS = st.lists(st.tuples(st.sampled_from(ACTIONS), ACTORS, TEXTS, st.integers(0, 11),
                           st.integers(0, 3 * 24 * 60)), min_size=1, max_size=16)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=STEPS, by_hand=st.booleans(),
       signature=st.sampled_from(list(SignatureRule)), through=st.booleans())
def test_issue9_r22_r35_no_order_of_message_decisions_wedges_a_case(
        steps: list[tuple[str, str, str, int, int]], by_hand: bool,
        signature: SignatureRule, through: bool) -> None:
    receive = receive_command(policy=MessagePolicy(signature=signature),
                              crisis=crisis(through) if through else None)
    events = decide(None, receive, now=START)
    state = evolve(None, events[0])
    run = Run(state=state, now=START, by_hand=by_hand)
    for action, actor, text, n, minutes in steps:
        run.now += timedelta(minutes=minutes)
        run.attempt(lambda: build(action, actor, text, n))  # noqa: B023 - called at once
        # Every state reached can still be finished: try it on a copy.
        probe = Run(state=run.state, now=run.now, by_hand=by_hand)
        probe.finish()
    tally(f"reached {run.state.stage.value}")
    run.finish()
    assert run.state.done


def test_issue9_what_a_command_accepts_it_records_clean() -> None:
    """The examples the property draws from, spelled out: NUL and controls
    removed, a lone surrogate replaced, RTL and zero-width marks kept, a
    text of nothing but controls or over the limit refused at the door."""
    assert Acknowledge(actor=ADMINS[0], text="Tack\x00 \ud800 \u200f").text == "Tack \ufffd \u200f"
    for bad in ("\x00\x07", "x" * 100_000):
        try:
            Acknowledge(actor=ADMINS[0], text=bad)
        except ValidationError:
            continue
        raise AssertionError(f"accepted {bad[:10]!r}")
    answered = Respond(actor=ADMINS[0], text="Svar\x00", signature="Sofia\x00, kultur",
                       signed=True)
    assert (answered.text, answered.signature) == ("Svar", "Sofia, kultur")
    # The same for the account's, the crisis's and the snapshot's commands.
    assert acc.RequestClosure(actor="anna.chef", reason="Läggs\x00 ned").reason == "Läggs ned"
    assert cr.DeclareCrisis(actor="kris", reason="Brand\x00\ud800").reason == "Brand\ufffd"
    assert snap.PackageWithoutScreenshots(actor="k", reason="Ingen\x00 bild").reason == (
        "Ingen bild")
