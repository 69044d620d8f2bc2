"""Issue 16, the message-case rules as the seeds word them, driven through
the edge cases a registrar, a manager and a communications officer would
try: what screening found decides disposal and deletion (R-31, R-33), the
"no message unanswered" chain never goes silent (R-22, R-23, R-24),
signatures that sign (R-26), criticism answered, not deleted (R-34),
outgoing texts screened (R-44), a copy before every deletion (R-45),
"watched" where allowed (R-46).

Times and helpers as in test_message.py: a comment published on Thursday 2
April 2026 15:00 in Stockholm, before Easter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.calendar import add_working_days
from domain.directory import Country
from domain.message import (
    Acknowledge,
    AcknowledgementSent,
    ApproveReply,
    CaseClosed,
    CloseCase,
    Hide,
    MessageAnswered,
    MessageDisposed,
    MessageEscalated,
    MessagePolicy,
    MessageRedacted,
    MessageWatched,
    ReplySubmittedForApproval,
    SendBackReply,
    SignatureRule,
    Stage,
    Watch,
    confidential_in_outgoing,
    deadline_plan,
    next_deadline,
    pending_steps,
)
from store.directory import parse_directory_yaml
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    AFTER_EASTER,
    ANSWER_DEADLINE,
    ANSWER_ESCALATION,
    COMMS,
    DEPUTY,
    MANAGER,
    MANAGERS,
    MANAGERS_AND_COMMS,
    OFFICER,
    REGISTRAR,
    Case,
    acknowledge,
    case_at,
    dispose,
    draft,
    fire,
    forward,
    inbound,
    local,
    received,
    redact,
    register,
    respond,
)
from tests.support import EXEMPELBY  # noqa: E402

PERSONNUMMER = "Min son 19121212-1212 fick inte plats på förskolan!"
CRITICISM = "Skandal! Snöröjningen på vår gata är uselt skött, det är oacceptabelt."
OTHER_OFFICER = "petra.handl"
EVERYONE = sorted({MANAGER, DEPUTY, *ADMINS, *COMMS})


def with_text(text: str, policy: MessagePolicy | None = None) -> Case:
    case = received(message=inbound(text=text), policy=policy or MessagePolicy())
    case.now = AFTER_EASTER
    return case


def run_until(case: Case, end: datetime) -> list[MessageEscalated]:
    """Wake as the workflow does: at each next deadline, fire what is due."""
    fired: list[MessageEscalated] = []
    while (due := next_deadline(case.current)) is not None and due <= end:
        events = case.do(fire(), at=due)
        assert events, f"a deadline at {due} fired nothing"
        fired += [e for e in events if isinstance(e, MessageEscalated)]
    return fired


# ---------------------------------------------------------------------------


def test_r31_r33_a_valid_personnummer_is_never_disposed_of_as_trivial() -> None:
    """R-31 "always registered"; R-33 deleting needs "endast tillfällig eller
    ringa betydelse": screening found a personnummer with valid check
    digits, so the admin's pick of "trivial" is refused, before and after
    30 days, and the case stays open until it is registered."""
    case = with_text(PERSONNUMMER)
    with pytest.raises(RuleViolation) as refused:
        case.decide(dispose())
    assert refused.value.key == "dispose.confidential"
    with pytest.raises(RuleViolation):
        case.decide(dispose(decision_id="SM-2"), at=AFTER_EASTER + timedelta(days=30))
    assert case.current.stage is Stage.OPEN and next_deadline(case.current) is not None


@pytest.mark.parametrize("category", ["profanity_or_obscenity", "defamation_or_insult",
                                      "sexism_or_harassment"])
def test_r31_deleted_only_once_registered_whatever_category_is_picked(category: str) -> None:
    """R-31: "capture, register as a case, then delete" follows what screening
    found, not only the category the admin picks."""
    case = with_text(PERSONNUMMER)
    with pytest.raises(RuleViolation) as refused:
        case.decide(redact(category=category))
    assert refused.value.key == "redact.register_first"
    case.do(register(actor=REGISTRAR, confidential=True))
    assert isinstance(case.do(redact(category=category))[0], MessageRedacted)
    assert case.current.diarium_number == "KS 2026/311"


def test_r33_advertising_is_deleted_under_a_named_disposal_decision() -> None:
    """R-33 "och att gallringsbeslut finns": an advertisement deleted without
    a copy (Mora, R-32) names the decision of the records-management plan."""
    case = case_at(Stage.OPEN, policy=MessagePolicy(copy_before_every_deletion=False))
    ad = {"category": "advertising", "law": "Riktlinjer 4.2", "preserved_copy": False}
    for missing in (None, "X-9"):
        with pytest.raises(RuleViolation) as refused:
            case.decide(redact(**ad, decision_id=missing))
        assert refused.value.key == "redact.disposal_decision"
    [redacted] = case.do(redact(**ad, decision_id="SM-2"))
    assert isinstance(redacted, MessageRedacted) and redacted.decision_id == "SM-2"


def test_r30_r45_hiding_keeps_a_copy() -> None:
    """R-30 "Vid avpublicering ska innehållet ... förvaras på annat medium":
    a hide without a preserved copy is refused."""
    case = case_at(Stage.OPEN)
    with pytest.raises(RuleViolation) as refused:
        case.decide(Hide(actor=ADMIN, reason="Granskas", preserved_copy=False))
    assert refused.value.key == "hide.copy_needed"
    case.do(Hide(actor=ADMIN, reason="Granskas", preserved_copy=True))
    assert case.current.hidden


# ---------------------------------------------------------------------------


def test_r45_kristiansand_keeps_a_copy_before_every_deletion_also_of_advertising() -> None:
    """R-45 "Før et innlegg slettes, ta skjermdump av innlegget" (the default,
    the stricter value, R-43): advertising too is captured before deletion;
    where the municipality follows R-32 (Mora) it is removed and not kept."""
    assert MessagePolicy().copy_before_every_deletion is True
    ad = {"category": "advertising", "law": "Retningslinjer", "decision_id": "SM-2"}
    strict = case_at(Stage.OPEN)
    with pytest.raises(RuleViolation) as refused:
        strict.decide(redact(**ad, preserved_copy=False))
    assert refused.value.key == "redact.copy_needed"
    [kept] = strict.do(redact(**ad, preserved_copy=True))
    assert isinstance(kept, MessageRedacted) and kept.preserved_copy
    mora = case_at(Stage.OPEN, policy=MessagePolicy(copy_before_every_deletion=False))
    with pytest.raises(RuleViolation) as refused:
        mora.decide(redact(**ad, preserved_copy=True))
    assert refused.value.key == "redact.advertising_kept"


# ---------------------------------------------------------------------------


def test_r22_the_chain_never_goes_silent_for_a_year_until_closed_with_a_reason() -> None:
    """R-22 "No message is left unanswered": after the reminder and the two
    escalations the case is chased every working day (the default rhythm) to
    the manager, the admins and the communications unit, for a year; an admin
    cannot close it, the communications unit can, saying why."""
    case = received()
    fired = run_until(case, local(2027, 4, 2, 15))
    chases = [e for e in fired if e.step.endswith(tuple(f"chase-{n}" for n in range(1, 400)))]
    assert [e.due for e in fired[:2]] == [ANSWER_DEADLINE, ANSWER_ESCALATION]
    assert chases[0].due == local(2026, 4, 9, 16, 30)  # a working day after the escalation
    assert len(chases) > 240  # Swedish working days in a year, less the first week
    assert all(sorted(c.recipients) == EVERYONE for c in chases)
    gaps = {(b.due - a.due).days for a, b in zip(chases, chases[1:], strict=False)}
    assert gaps <= {1, 2, 3, 4, 5}  # weekends and holidays only
    assert next_deadline(case.current) is not None and case.current.stage is Stage.OPEN

    for who in (ADMIN, REGISTRAR, OFFICER):
        with pytest.raises(NotAuthorised) as refused:
            case.decide(CloseCase(actor=who, reason="Inget att svara"))
        assert refused.value.key == "close.who"
    [closed] = case.do(CloseCase(actor=COMMS[0], reason="Besvarad per telefon 3 april"))
    assert isinstance(closed, CaseClosed) and closed.actor == COMMS[0]
    state = case.current
    assert (state.stage, state.closed_reason) == (Stage.CLOSED, "Besvarad per telefon 3 april")
    assert next_deadline(state) is None


def test_r22_r43_the_rhythm_of_the_chase_is_a_setting() -> None:
    """R-43: every fifth working day instead of every day."""
    case = received(policy=MessagePolicy(chase_every_working_days=5))
    case.do(fire(), at=ANSWER_ESCALATION)
    [first] = case.do(fire(), at=next_deadline(case.current))
    assert first.due == add_working_days(ANSWER_ESCALATION, 5, Country.SE, "Europe/Stockholm")
    assert next_deadline(case.current) == add_working_days(first.due, 5, Country.SE,
                                                           "Europe/Stockholm")


def test_r22_an_acknowledged_case_is_chased_too() -> None:
    case = received()
    case.do(acknowledge(), at=AFTER_EASTER)
    fired = run_until(case, local(2026, 12, 31))
    assert sum(e.step.split(":")[-1].startswith("chase-") for e in fired) > 150
    assert next_deadline(case.current) is not None


def test_r22_a_manual_platform_action_never_awaited_in_silence() -> None:
    """An answer to post by hand (no API) that no one confirms is chased too."""
    from domain.message import RequestManualAction

    case = case_at(Stage.OPEN)
    case.do(respond())
    case.do(RequestManualAction(actor="kanalvakt", action="reply", instruction="Posta svaret"))
    fired = run_until(case, local(2026, 6, 30))
    assert sum("chase-" in e.step for e in fired) > 40


# ---------------------------------------------------------------------------


def monday_13_april() -> Case:
    """Received Monday 13 April 2026 10:00: the citizen is owed an answer by
    Tuesday 14 April 16:30; forwarded 11:00, the officer has five working
    days (Monday 20 April 11:00)."""
    case = received(local(2026, 4, 13, 10), got_at=local(2026, 4, 13, 10, 5))
    case.do(forward(), at=local(2026, 4, 13, 11))
    return case


def test_r24_forwarding_keeps_the_citizens_own_deadline() -> None:
    """R-23 with R-24: the citizen's Tue 14 April stays (to the manager); the
    officer's Mon 20 April is the officer's."""
    case = monday_13_april()
    steps = {s.name: (s.due, list(s.recipients)) for s in deadline_plan(case.current)}
    assert steps["answer_deadline"] == (local(2026, 4, 14, 16, 30), MANAGERS)
    assert steps["officer_deadline"][0] == local(2026, 4, 20, 16, 30)
    assert next_deadline(case.current) <= local(2026, 4, 14, 16, 30)  # type: ignore[operator]
    fired = run_until(case, local(2026, 4, 14, 16, 30))
    assert [e.due for e in fired] == [local(2026, 4, 14, 16, 30)]


def test_r24_an_officer_who_never_answers_goes_on_to_the_communications_unit_for_a_year(
) -> None:
    """R-24: reminded, then the manager and admins, then the communications
    unit, then chased every working day with the officer among the
    recipients, until the case is handed on."""
    case = monday_13_april()
    fired = run_until(case, local(2027, 4, 13))
    officer_escalation = [e for e in fired if e.step.endswith(":officer_escalation")]
    assert [sorted(e.recipients) for e in officer_escalation] == [sorted({*EVERYONE, OFFICER})]
    chases = [e for e in fired if "chase-" in e.step]
    assert len(chases) > 230 and all(OFFICER in c.recipients for c in chases)
    assert case.current.stage is Stage.FORWARDED


def test_r24_a_forwarded_case_can_be_acknowledged_once() -> None:
    """R-23 "bekräfta att frågan mottagits" also while the officer works:
    the stage stays forwarded, the citizen is now owed the final answer in
    ten working days."""
    case = monday_13_april()
    [ack] = case.do(acknowledge(), at=local(2026, 4, 14, 9))
    assert isinstance(ack, AcknowledgementSent)
    state = case.current
    assert (state.stage, state.officer, state.first_response_at) == (
        Stage.FORWARDED, OFFICER, local(2026, 4, 14, 9))
    names = {s.name for s in pending_steps(state)}
    assert {"final_answer_deadline", "officer_deadline"} <= names
    assert "answer_deadline" not in names
    with pytest.raises(RuleViolation) as refused:
        case.decide(acknowledge())
    assert refused.value.key == "acknowledge.already"


def test_r24_a_forwarded_case_is_handed_to_another_officer() -> None:
    """R-24: the officer does not answer; an admin hands the case on. The new
    officer drafts on a new deadline; the first one may no longer; the
    citizen's deadline does not move."""
    case = monday_13_april()
    citizen = [s.due for s in deadline_plan(case.current) if s.name == "answer_deadline"]
    with pytest.raises(RuleViolation) as refused:
        case.decide(forward())
    assert refused.value.key == "forward.same_officer"
    case.do(forward(officer=OTHER_OFFICER), at=local(2026, 4, 16, 9))
    state = case.current
    assert (state.stage, state.officer) == (Stage.FORWARDED, OTHER_OFFICER)
    steps = {s.name: s for s in deadline_plan(state)}
    assert steps["officer_deadline"].due == local(2026, 4, 23, 16, 30)
    assert [s.due for s in deadline_plan(state) if s.name == "answer_deadline"] == citizen
    with pytest.raises(NotAuthorised):
        case.decide(draft(actor=OFFICER))
    case.do(draft(actor=OTHER_OFFICER))
    assert case.current.stage is Stage.DRAFTED


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("junk", [".", " . ", "-", "…", "A", "—/"])
def test_r26_a_signature_of_punctuation_does_not_sign(junk: str) -> None:
    """R-26 "Skriv under med navn og gjerne enhet/avdeling": "." is no name."""
    assert MessagePolicy().signature is SignatureRule.REQUIRED  # the stricter default
    case = case_at(Stage.OPEN)
    with pytest.raises(RuleViolation) as refused:
        case.decide(respond(signature=junk, signed=True))
    assert refused.value.key == "respond.signature"
    optional = case_at(Stage.OPEN, policy=MessagePolicy(signature=SignatureRule.OPTIONAL))
    with pytest.raises(RuleViolation):
        optional.decide(respond(signature=junk, signed=True))
    [answer] = optional.do(respond(signature=None, signed=False))
    assert isinstance(answer, MessageAnswered) and answer.signature is None


def test_r26_a_name_and_unit_sign() -> None:
    [answer] = case_at(Stage.OPEN).do(respond(signature="Li, Kultur"))
    assert isinstance(answer, MessageAnswered) and answer.signature == "Li, Kultur"


# ---------------------------------------------------------------------------


def test_r34_criticism_is_answered_not_deleted_as_defamation() -> None:
    """R-34 "Det bør mye til før en sletter et innlegg": a critical comment
    in which screening found no insult cannot be removed as defamation."""
    case = with_text(CRITICISM)
    with pytest.raises(RuleViolation) as refused:
        case.decide(redact(category="defamation_or_insult"))
    assert refused.value.key == "redact.criticism"
    assert isinstance(case.do(respond())[0], MessageAnswered)


def test_r34_an_unsupported_defamation_removal_is_flagged_for_the_communications_unit() -> None:
    """Where screening found no insult and no criticism, the removal goes
    through, with the admin's reason, and the manager and the communications
    unit hear of it to look at."""
    case = with_text("Hon som jobbar i receptionen vet vi ju allt om.")
    redacted, flagged = case.do(redact(category="defamation_or_insult"))
    assert isinstance(redacted, MessageRedacted) and isinstance(flagged, MessageEscalated)
    assert flagged.recipients == MANAGERS_AND_COMMS and "removal_review" in flagged.step
    insult = with_text("Du är en jävla idiot")
    assert [type(e) for e in insult.do(redact(category="defamation_or_insult"))] == [
        MessageRedacted]


# ---------------------------------------------------------------------------


def test_r44_an_answer_with_a_personnummer_waits_for_a_person_with_the_right() -> None:
    """R-44 "Självfallet ska kommunen inte publicera sekretessreglerade
    uppgifter": the admin's answer quoting an identity number is not
    published; the admin cannot confirm it; the manager sends it back, the
    changed text goes out."""
    case = case_at(Stage.OPEN)
    [held] = case.do(respond(text="Din ansökan för 19121212-1212 är beviljad."))
    assert isinstance(held, ReplySubmittedForApproval) and held.held_for == "confidential"
    assert held.approvers == sorted({MANAGER, DEPUTY, *COMMS})
    assert case.current.stage is Stage.AWAITING_APPROVAL
    with pytest.raises(NotAuthorised) as refused:
        case.decide(ApproveReply(actor=ADMINS[1]))
    assert refused.value.key == "approval.confidential"
    case.do(SendBackReply(actor=MANAGER, comment="Ta bort personnumret"))
    assert case.current.stage is Stage.OPEN
    [answer] = case.do(respond(text="Din ansökan är beviljad."))
    assert isinstance(answer, MessageAnswered)


def test_r44_a_confirmed_text_is_published_on_the_record() -> None:
    case = case_at(Stage.OPEN)
    case.do(respond(text="Uppgiften omfattas av sekretess enligt OSL."))
    approved, published = case.do(ApproveReply(actor=COMMS[0], reply_id="fb-9"))
    assert approved.actor == COMMS[0] and isinstance(published, MessageAnswered)
    assert published.actor == ADMIN and case.current.stage is Stage.ANSWERED


def test_r44_acknowledgements_signatures_and_officers_drafts_are_screened() -> None:
    ack = case_at(Stage.OPEN)
    [held] = ack.do(Acknowledge(actor=ADMIN, text="Vi har tagit emot frågan om 19121212-1212"))
    assert isinstance(held, ReplySubmittedForApproval) and held.kind == "acknowledgement"
    signed = case_at(Stage.OPEN)
    [held] = signed.do(respond(signature="Alva 19121212-1212, Kultur"))
    assert isinstance(held, ReplySubmittedForApproval)
    drafted = case_at(Stage.FORWARDED)
    drafted.do(draft().model_copy(update={"text": "Sekretessbelagd uppgift: beslut i maj."}))
    [held] = drafted.do(respond(text=drafted.current.draft))
    assert isinstance(held, ReplySubmittedForApproval) and held.drafted_by == OFFICER
    assert confidential_in_outgoing("Simhallen öppnar 1 maj.") == []


# ---------------------------------------------------------------------------


def test_r46_watched_only_where_the_municipality_allows_it() -> None:
    """R-46 "I vissa fall kan det räcka med att bara bevaka flödet" (Mora);
    the default (the stricter value) answers every message."""
    with pytest.raises(RuleViolation) as refused:
        case_at(Stage.OPEN).decide(Watch(actor=ADMIN, reason="Diskussion mellan invånare"))
    assert refused.value.key == "watch.not_allowed"
    mora = case_at(Stage.OPEN, policy=MessagePolicy(watched_allowed=True))
    with pytest.raises(NotAuthorised):
        mora.decide(Watch(actor=MANAGER, reason="x"))
    [watched] = mora.do(Watch(actor=ADMIN, reason="Diskussion mellan invånare"))
    assert isinstance(watched, MessageWatched)
    assert (watched.actor, watched.reason) == (ADMIN, "Diskussion mellan invånare")
    state = mora.current
    assert (state.stage, state.closed_reason) == (Stage.WATCHED, "Diskussion mellan invånare")
    with pytest.raises(WrongStage):
        mora.decide(respond())


def test_r46_a_flagged_message_is_reviewed_not_only_watched() -> None:
    case = with_text(PERSONNUMMER, MessagePolicy(watched_allowed=True))
    with pytest.raises(RuleViolation) as refused:
        case.decide(Watch(actor=ADMIN, reason="Bara bevakas"))
    assert refused.value.key == "watch.flagged"


def test_the_old_runs_keep_their_old_plan() -> None:
    """A case begun before issue 16 (fidelity_rules False, set by the
    workflow for runs without the patch) keeps the plan its history was
    recorded with: no chase, no citizen's clock while forwarded."""
    case = received()
    case.state = case.current.model_copy(update={"fidelity_rules": False})
    case.do(fire(), at=ANSWER_ESCALATION)
    assert next_deadline(case.current) is None
    forwarded = received()
    forwarded.state = forwarded.current.model_copy(update={"fidelity_rules": False})
    forwarded.do(forward(), at=AFTER_EASTER)
    assert [s.name for s in deadline_plan(forwarded.current)] == [
        "officer_reminder", "officer_deadline"]
    with pytest.raises(WrongStage):  # handing on is a rule of the new runs only
        forwarded.decide(forward(officer=OTHER_OFFICER))


def test_r26_r45_r46_r43_the_sample_directories_follow_their_guidelines() -> None:
    """R-43: Exempelby (the Swedish seeds, Mora) signs optionally, removes
    advertising without a copy (R-32) and may only watch (R-46); Fjordvik
    (Kristiansand) signs, captures before every deletion (R-45), answers all.
    Both chase every working day (R-22)."""
    se = parse_directory_yaml(Path(EXEMPELBY).read_text(encoding="utf-8")).municipality.messages
    no = parse_directory_yaml(Path(EXEMPELBY).with_name("fjordvik.yaml").read_text(
        encoding="utf-8")).municipality.messages
    assert (se.signature, se.copy_before_every_deletion, se.watched_allowed) == (
        SignatureRule.OPTIONAL, False, True)
    assert (no.signature, no.copy_before_every_deletion, no.watched_allowed) == (
        SignatureRule.REQUIRED, True, False)
    assert se.chase_every_working_days == no.chase_every_working_days == 1


# ---------------------------------------------------------------------------


def test_r50_a_watched_comment_is_disposed_of_when_its_date_comes() -> None:
    """R-50 "Handlingar av tillfällig eller ringa betydelse ska gallras vid
    inaktualitet" (Mora): the watched comment's disposal falls due under the
    minor-records decision (SM-1, 30 days) and happens then, logged with the
    decision and who watched it; nobody has to remember it."""
    case = case_at(Stage.OPEN, policy=MessagePolicy(watched_allowed=True))
    [watched] = case.do(Watch(actor=ADMIN, reason="Ingen fråga"))
    assert isinstance(watched, MessageWatched)
    assert (watched.decision_id, watched.dispose_on) == ("SM-1", AFTER_EASTER + timedelta(30))
    assert not case.current.done and next_deadline(case.current) == watched.dispose_on
    assert case.decide(fire(), at=watched.dispose_on - timedelta(minutes=1)) == []
    [disposed] = case.do(fire(), at=watched.dispose_on)
    assert isinstance(disposed, MessageDisposed)
    assert (disposed.decision_id, disposed.decided_by) == ("SM-1", ADMIN)
    assert case.current.stage is Stage.DISPOSED and case.current.done


def test_r50_removed_content_to_be_kept_is_registered_and_filed_with_its_case() -> None:
    """R-50, Norrköping: "Ska det bevaras ska det ... diarieföras och
    arkiveras i ärendeakt": a removal to be kept needs the case's diarium
    number first, and the removal names it; advertising is never kept."""
    case = case_at(Stage.OPEN)
    kept = redact(category="sexism_or_harassment", keep=True)
    with pytest.raises(RuleViolation) as refused:
        case.decide(kept)
    assert refused.value.key == "redact.register_first"
    with pytest.raises(RuleViolation) as refused:
        case.decide(redact(category="advertising", keep=True, decision_id="SM-2"))
    assert refused.value.key == "redact.advertising_kept"
    case.do(register(actor=REGISTRAR))
    [redacted] = case.do(kept)
    assert isinstance(redacted, MessageRedacted) and redacted.filed_as == "KS 2026/311"


def test_r44_r39_a_confirmed_text_still_goes_through_crisis_management() -> None:
    """R-44 then R-39 (Kristiansand): the manager confirms the held text; in a
    crisis whose communication goes through crisis management it then waits
    for crisis management, and only its approval publishes it."""
    from domain.message import ApplyCrisis
    from tests.domain.test_message import KRISLEDNING, crisis_through_management

    case = case_at(Stage.OPEN)
    case.do(ApplyCrisis(actor="kanalvakt", crisis=crisis_through_management()))
    [held] = case.do(respond(text="Beslutet om 19121212-1212 gäller."))
    assert isinstance(held, ReplySubmittedForApproval) and held.held_for == "confidential"
    approved, onward = case.do(ApproveReply(actor=MANAGER))
    assert isinstance(onward, ReplySubmittedForApproval) and onward.held_for == "crisis"
    assert onward.actor == ADMIN and onward.approvers == [KRISLEDNING]
    assert case.current.stage is Stage.AWAITING_APPROVAL
    _, published = case.do(ApproveReply(actor=KRISLEDNING, reply_id="fb-1"))
    assert isinstance(published, MessageAnswered) and case.current.stage is Stage.ANSWERED
