"""The account lifecycle (domain/account/) as decide/evolve, rule by rule.

Fixtures and the `walk(stage)` helper are in conftest.py. Times are fixed:
T0 is Monday 30 March 2026, 11:00 in Stockholm, the week before Easter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from domain.account import (
    AccountActivated,
    AccountClosed,
    AccountEvent,
    AccountRequest,
    AccountRequested,
    AccountState,
    ActivateAccount,
    AddAdmin,
    Admin,
    AdminAdded,
    AdminCoverageLost,
    AdminCoverageRestored,
    AdminRemoved,
    AdminTwoFactorConfirmed,
    AmendRequest,
    AppointPublisher,
    ApproveRequest,
    AuthoritiesUpdated,
    CancelAbsence,
    ChangeMessageSettings,
    ChangeMonitoringSettings,
    ClosureRequested,
    Command,
    ConfirmPost,
    ConfirmTwoFactor,
    ConsentUpload,
    DeadlineEscalated,
    DeadlineReminderSent,
    FinalSnapshotArchived,
    FireDueDeadlines,
    KeepAccount,
    LifecyclePolicy,
    ListedInRegister,
    ManagerApproved,
    MessageSettingsChanged,
    NotAuthorised,
    Platform,
    PostImage,
    RecordAbsence,
    RecordCheckIn,
    RecordFinalSnapshot,
    RecordPost,
    RecordProfileChange,
    RecordRiskAssessment,
    RejectRequest,
    RemoveAdmin,
    RemovedFromRegister,
    RemovePublisher,
    ReportWatchItem,
    RequestAccount,
    RequestAmended,
    RequestClosure,
    RequestLapsed,
    RequestRejected,
    ResolveWatchItem,
    RiskAssessmentKind,
    RiskAssessmentRecorded,
    RuleViolation,
    SendBackPost,
    SentBackForChanges,
    SignOff,
    SignOffApproved,
    SignOffChecklist,
    SignOffDecision,
    Stage,
    UpdateAuthorities,
    WithdrawConsent,
    WrongStage,
    account_slug,
    deadline_plan,
    decide,
    evolve,
    fold,
    lifecycle_plan,
    next_deadline,
    parse_event,
    pending_steps,
    workflow_id_for,
)
from domain.directory import Authorities, Country
from domain.message_policy import MessagePolicy
from domain.monitoring import MonitoringPolicy
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    REGISTRAR,
    REQUESTER,
    STRANGER,
    SYSTEM,
    T0,
    UNIT,
    Journey,
    full_checklist,
    package,
)

Walk = Callable[..., Journey]
NEW_ADMIN = "ida.adm"
CONSENT_UPLOAD = "5b1c0d4e-0000-4000-8000-000000000041"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at_close(y: int, m: int, d: int) -> datetime:
    """14:30 UTC, 16:30 in Stockholm in summer time: a deadline of N working
    days ends at the office's closing time (issue 14), not at T0's 11:00."""
    return utc(y, m, d, 14, 30)


def assessment(
    kind: RiskAssessmentKind, actor: str = REQUESTER, completed_on: date = date(2026, 3, 27)
) -> RecordRiskAssessment:
    return RecordRiskAssessment(
        actor=actor,
        kind=kind,
        document_ref="KS 2026/17",
        completed_on=completed_on,
        completed_by=REQUESTER,
    )


def sign_off(
    decision: SignOffDecision,
    checklist: SignOffChecklist | None = None,
    comment: str | None = None,
    actor: str = COMMS[0],
) -> SignOff:
    return SignOff(
        actor=actor, decision=decision, checklist=checklist or full_checklist(), comment=comment
    )


def activate(*admins: Admin, actor: str = COMMS[0]) -> ActivateAccount:
    return ActivateAccount(
        actor=actor,
        handle="kulturhusetangen",
        url="https://www.facebook.com/kulturhusetangen",
        admins=list(
            admins
            or (Admin(person=REQUESTER, two_factor=True), Admin(person=ADMIN_2, two_factor=True))
        ),
    )


def types(events: list[AccountEvent]) -> list[type]:
    return [type(e) for e in events]


def locs(error: ValidationError) -> list[tuple[int | str, ...]]:
    return [e["loc"] for e in error.errors()]


# --- the request ---

FORM_FIELDS = [
    "unit_id",
    "platform",
    "account_name",
    "purpose",
    "target_audience",
    "goals",
    "message",
    "dialogue_wanted",
    "resources",
    "hours_per_week",
    "channel_rationale",
    "proposed_admins",
    "contact_email",
]


def test_r02_the_form_fields_are_exactly_the_required_ones() -> None:
    """R-02: no form field has quietly become optional (only monitoring hours default)."""
    required = {n for n, f in AccountRequest.model_fields.items() if f.is_required()}
    assert required == set(FORM_FIELDS)


@pytest.mark.parametrize("name", FORM_FIELDS)
def test_r02_request_without_a_field_is_refused(request_fields: dict[str, Any], name: str) -> None:
    """R-02: every field of the intranet form must be stated."""
    del request_fields[name]
    with pytest.raises(ValidationError) as caught:
        AccountRequest(**request_fields)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [((name,), "missing")]


@pytest.mark.parametrize(
    "name, value, loc",
    [
        ("purpose", "   ", ("purpose",)),
        ("target_audience", "", ("target_audience",)),
        ("channel_rationale", "\n", ("channel_rationale",)),
        ("contact_email", "kulturhuset", ("contact_email",)),
        ("hours_per_week", 0, ("hours_per_week",)),
        ("platform", "myspace", ("platform",)),
        ("proposed_admins", ["Frida H", ADMIN_2], ("proposed_admins", 0)),
    ],
)
def test_r02_blank_or_malformed_answers_are_refused(
    request_fields: dict[str, Any], name: str, value: object, loc: tuple[Any, ...]
) -> None:
    """R-02: a blank answer is no answer; the contact must be an e-mail address."""
    with pytest.raises(ValidationError) as caught:
        AccountRequest(**(request_fields | {name: value}))
    assert locs(caught.value) == [loc]


def test_r12_a_single_proposed_admin_is_refused(request_fields: dict[str, Any]) -> None:
    """R-12: at least two administrators."""
    with pytest.raises(ValidationError) as caught:
        AccountRequest(**(request_fields | {"proposed_admins": [REQUESTER]}))
    assert locs(caught.value) == [("proposed_admins",)]


def test_r12_the_same_admin_twice_is_refused(request_fields: dict[str, Any]) -> None:
    """R-12: two admins means two people, not one named twice."""
    with pytest.raises(ValidationError, match="proposed twice") as caught:
        AccountRequest(**(request_fields | {"proposed_admins": [REQUESTER, REQUESTER]}))
    assert locs(caught.value) == [("proposed_admins",)]


def test_r02_request_opens_the_case_awaiting_the_manager(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)
    [requested] = journey.events
    assert isinstance(requested, AccountRequested)
    assert requested.slug == "kulturhuset-angen-facebook"
    state = journey.current
    assert (state.stage, state.requester, state.version) == (Stage.AWAITING_MANAGER, REQUESTER, 1)


def test_r01_request_with_another_units_authorities_is_refused(
    request_command: Callable[..., RequestAccount], authorities: Authorities
) -> None:
    """R-01: the manager who decides is the requesting unit's own."""
    other = authorities.model_copy(update={"unit_id": "skola"})
    with pytest.raises(RuleViolation):
        decide(None, request_command(authorities=other), now=T0)


def test_request_twice_is_refused(
    walk: Walk, request_command: Callable[..., RequestAccount]
) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.AWAITING_MANAGER).decide(request_command())


def test_no_command_before_the_request() -> None:
    with pytest.raises(WrongStage):
        decide(None, ApproveRequest(actor=MANAGER, admins_equipped=True), now=T0)


def test_decide_refuses_a_naive_now(request_command: Callable[..., RequestAccount]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(None, request_command(), now=datetime(2026, 3, 30, 9, 0))


def test_request_with_an_unknown_time_zone_is_refused(
    request_command: Callable[..., RequestAccount],
) -> None:
    """Deadlines are counted in the municipality's zone, so it must exist: an
    unknown one is refused with the request, not found weeks later by a timer."""
    with pytest.raises(ValidationError, match="unknown time zone"):
        request_command(timezone="Europe/Atlantis")


def test_authorities_of_another_municipality_are_refused(
    request_command: Callable[..., RequestAccount], authorities: Authorities
) -> None:
    """R-01: the request is decided by its own unit's manager, nobody else's."""
    elsewhere = authorities.model_copy(update={"municipality_id": "grannby"})
    with pytest.raises(RuleViolation):
        decide(None, request_command(authorities=elsewhere), now=T0)


# --- the manager ---


@pytest.mark.parametrize("who", [MANAGER, DEPUTY])
def test_r01_r13_manager_or_deputy_approves(walk: Walk, who: str) -> None:
    """R-01/R-13: the manager, or the deputy standing in, decides; then ROS/DPIA (R-04)."""
    journey = walk(Stage.AWAITING_MANAGER)
    approved = journey.do(ApproveRequest(actor=who, comment="Ja", admins_equipped=True))
    assert types(approved) == [ManagerApproved]
    assert journey.current.stage is Stage.RISK_ASSESSMENT
    assert journey.current.approved_by == who


@pytest.mark.parametrize("who", [REQUESTER, COMMS[0], REGISTRAR, STRANGER])
@pytest.mark.parametrize(
    "command",
    [
        lambda who: ApproveRequest(actor=who),
        lambda who: RejectRequest(actor=who, reason="Not needed"),
    ],
    ids=["approve", "reject"],
)
def test_r01_r13_others_may_not_decide_for_the_manager(
    walk: Walk, who: str, command: Callable[[str], ApproveRequest | RejectRequest]
) -> None:
    """R-01/R-13: not the requester, not communications, not anyone else."""
    with pytest.raises(NotAuthorised, match="R-01"):
        walk(Stage.AWAITING_MANAGER).decide(command(who))


def test_r01_manager_rejects_with_a_reason(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)
    [rejected] = journey.do(RejectRequest(actor=MANAGER, reason="Use the main account"))
    assert isinstance(rejected, RequestRejected)
    assert rejected.stage is Stage.AWAITING_MANAGER
    assert journey.current.stage is Stage.REJECTED
    assert journey.current.rejection_reason == "Use the main account"


def test_r01_rejection_needs_a_reason() -> None:
    with pytest.raises(ValidationError) as caught:
        RejectRequest(actor=MANAGER, reason="")
    assert locs(caught.value) == [("reason",)]


@pytest.mark.parametrize("command", [RejectRequest, RequestClosure])
def test_r01_r19_a_blank_reason_is_no_reason(
    command: type[RejectRequest] | type[RequestClosure],
) -> None:
    """R-01 (rejection) and R-19 (closure) need a reason; spaces are not one."""
    with pytest.raises(ValidationError):
        command(actor=MANAGER, reason="   ")


def test_r01_approve_only_while_awaiting_the_manager(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.RISK_ASSESSMENT).decide(ApproveRequest(actor=MANAGER, admins_equipped=True))


# --- ROS and DPIA ---


@pytest.mark.parametrize("kind", list(RiskAssessmentKind))
def test_r04_one_assessment_alone_keeps_the_risk_stage(
    walk: Walk, kind: RiskAssessmentKind
) -> None:
    journey = walk(Stage.RISK_ASSESSMENT)
    assert types(journey.do(assessment(kind))) == [RiskAssessmentRecorded]
    assert journey.current.stage is Stage.RISK_ASSESSMENT
    assert set(journey.current.risk_assessments) == {kind}


def test_r04_ros_and_dpia_together_lead_to_sign_off(walk: Walk) -> None:
    journey = walk(Stage.RISK_ASSESSMENT)
    journey.do(assessment(RiskAssessmentKind.DPIA, actor=MANAGER))
    journey.do(assessment(RiskAssessmentKind.ROS))
    assert journey.current.stage is Stage.AWAITING_SIGNOFF
    dpia = journey.current.risk_assessments[RiskAssessmentKind.DPIA]
    assert (dpia.recorded_by, dpia.completed_by) == (MANAGER, REQUESTER)


def test_r04_the_same_assessment_twice_is_still_one(walk: Walk) -> None:
    journey = walk(Stage.RISK_ASSESSMENT)
    journey.do(assessment(RiskAssessmentKind.ROS))
    journey.do(assessment(RiskAssessmentKind.ROS))
    assert journey.current.stage is Stage.RISK_ASSESSMENT


@pytest.mark.parametrize("who", [REQUESTER, ADMIN_2, MANAGER, DEPUTY])
def test_r04_requester_proposed_admins_and_manager_may_record(walk: Walk, who: str) -> None:
    events = walk(Stage.RISK_ASSESSMENT).decide(assessment(RiskAssessmentKind.ROS, actor=who))
    assert types(events) == [RiskAssessmentRecorded]


@pytest.mark.parametrize("who", [COMMS[0], REGISTRAR, STRANGER])
def test_r04_others_may_not_record(walk: Walk, who: str) -> None:
    with pytest.raises(NotAuthorised):
        walk(Stage.RISK_ASSESSMENT).decide(assessment(RiskAssessmentKind.ROS, actor=who))


def test_r04_completion_in_the_future_is_refused(walk: Walk) -> None:
    journey = walk(Stage.RISK_ASSESSMENT)
    with pytest.raises(RuleViolation, match="R-04"):
        journey.decide(assessment(RiskAssessmentKind.ROS, completed_on=date(2026, 3, 31)))
    assert journey.decide(assessment(RiskAssessmentKind.ROS, completed_on=T0.date()))


def test_r04_completion_today_in_local_time_is_not_the_future(walk: Walk) -> None:
    """At 00:30 on 31 March in Stockholm (22:30 UTC on the 30th), a DPIA finished
    that day is not in the future."""
    journey = walk(Stage.RISK_ASSESSMENT)
    late = utc(2026, 3, 30, 22, 30)
    journey.decide(assessment(RiskAssessmentKind.DPIA, completed_on=date(2026, 3, 31)), at=late)


def test_r04_no_sign_off_before_both_assessments(walk: Walk) -> None:
    journey = walk(Stage.RISK_ASSESSMENT)
    journey.do(assessment(RiskAssessmentKind.ROS))
    with pytest.raises(WrongStage):
        journey.decide(sign_off(SignOffDecision.APPROVE))


def test_r04_no_assessment_before_the_manager_approves(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.AWAITING_MANAGER).decide(assessment(RiskAssessmentKind.ROS))


# --- ..R-11 ---


@pytest.mark.parametrize("who", [MANAGER, REQUESTER, REGISTRAR])
def test_r03_only_communications_signs_off(walk: Walk, who: str) -> None:
    with pytest.raises(NotAuthorised, match="R-03"):
        walk(Stage.AWAITING_SIGNOFF).decide(sign_off(SignOffDecision.APPROVE, actor=who))


@pytest.mark.parametrize("who", COMMS)
def test_r03_communications_approves_a_complete_checklist(walk: Walk, who: str) -> None:
    journey = walk(Stage.AWAITING_SIGNOFF)
    assert types(journey.do(sign_off(SignOffDecision.APPROVE, actor=who))) == [SignOffApproved]
    state = journey.current
    assert (state.stage, state.signed_off_by) == (Stage.AWAITING_ACTIVATION, who)
    assert state.sign_off == full_checklist()


def test_r03_empty_checklist_lists_every_gap(walk: Walk) -> None:
    with pytest.raises(RuleViolation) as caught:
        walk(Stage.AWAITING_SIGNOFF).decide(
            sign_off(SignOffDecision.APPROVE, checklist=SignOffChecklist())
        )
    for rule in ("R-05", "R-06", "R-08", "R-09", "R-10"):
        assert rule in caught.value.message
    assert "R-11" not in caught.value.message  # public by default


@pytest.mark.parametrize(
    "item, value, rule",
    [
        ("profile_names_municipality", False, "R-08"),
        ("profile_links", [], "R-08"),
        ("profile_text", "  ", "R-09"),
        ("profile_states_purpose_and_rules", False, "R-09"),
        ("provider_identity_and_visibility_shown", False, "R-10"),
        ("terms_read_and_accepted_by", None, "R-05"),
        ("public_channel", False, "R-11"),
        ("unit_web_page_updated", False, "R-06"),
        ("municipality_has_login_access", False, "R-06"),
    ],
)
def test_r05_r06_r08_r09_r10_r11_a_missing_item_blocks_approval(
    walk: Walk, item: str, value: object, rule: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        walk(Stage.AWAITING_SIGNOFF).decide(
            sign_off(SignOffDecision.APPROVE, checklist=full_checklist(**{item: value}))
        )
    assert caught.value.message.startswith(f"cannot approve yet: {rule}:")
    assert caught.value.message.count("R-") == 1  # only the one gap


@pytest.mark.parametrize("who", [STRANGER, REQUESTER, REGISTRAR])
def test_r05_terms_accepted_by_someone_not_authorised_are_refused(walk: Walk, who: str) -> None:
    with pytest.raises(RuleViolation, match=f"R-05: {who} is not authorised"):
        walk(Stage.AWAITING_SIGNOFF).decide(
            sign_off(
                SignOffDecision.APPROVE, checklist=full_checklist(terms_read_and_accepted_by=who)
            )
        )


@pytest.mark.parametrize("who", [MANAGER, DEPUTY, COMMS[1]])
def test_r05_terms_accepted_by_the_manager_or_communications(walk: Walk, who: str) -> None:
    checklist = full_checklist(terms_read_and_accepted_by=who)
    assert walk(Stage.AWAITING_SIGNOFF).decide(sign_off(SignOffDecision.APPROVE, checklist))


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_r11_non_public_channel_without_a_reason_is_refused(walk: Walk, reason: str | None) -> None:
    checklist = full_checklist(public_channel=False, private_channel_reason=reason)
    with pytest.raises(RuleViolation, match="R-11"):
        walk(Stage.AWAITING_SIGNOFF).decide(sign_off(SignOffDecision.APPROVE, checklist))


def test_r11_non_public_channel_with_a_recorded_reason_is_accepted(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_SIGNOFF)
    checklist = full_checklist(public_channel=False, private_channel_reason="Class 7B only")
    journey.do(sign_off(SignOffDecision.APPROVE, checklist))
    assert journey.current.sign_off is not None
    assert journey.current.sign_off.private_channel_reason == "Class 7B only"


@pytest.mark.parametrize("decision", [SignOffDecision.SEND_BACK, SignOffDecision.REJECT])
@pytest.mark.parametrize("comment", [None, "", "  "])
def test_r03_send_back_or_reject_needs_a_comment(
    walk: Walk, decision: SignOffDecision, comment: str | None
) -> None:
    with pytest.raises(RuleViolation):
        walk(Stage.AWAITING_SIGNOFF).decide(sign_off(decision, comment=comment))


def test_r03_send_back_goes_to_amending(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_SIGNOFF)
    [sent] = journey.do(sign_off(SignOffDecision.SEND_BACK, comment="Add the logo"))
    assert isinstance(sent, SentBackForChanges) and sent.comment == "Add the logo"
    assert journey.current.stage is Stage.AMENDING
    assert journey.current.times_sent_back == 1


@pytest.mark.parametrize("who", [REQUESTER, MANAGER])
def test_r03_amend_returns_to_sign_off(
    walk: Walk, account_request: AccountRequest, who: str
) -> None:
    journey = walk(Stage.AMENDING)
    amended = account_request.model_copy(update={"purpose": "Events, and the municipality's name"})
    assert types(journey.do(AmendRequest(actor=who, request=amended))) == [RequestAmended]
    assert journey.current.stage is Stage.AWAITING_SIGNOFF
    assert journey.current.request == amended


@pytest.mark.parametrize("who", [ADMIN_2, COMMS[0], STRANGER])
def test_r03_others_may_not_amend(walk: Walk, account_request: AccountRequest, who: str) -> None:
    with pytest.raises(NotAuthorised):
        walk(Stage.AMENDING).decide(AmendRequest(actor=who, request=account_request))


@pytest.mark.parametrize("change", [{"unit_id": "skola"}, {"platform": Platform.INSTAGRAM}])
def test_r01_amend_may_not_change_unit_or_platform(
    walk: Walk, account_request: AccountRequest, change: dict[str, Any]
) -> None:
    """R-01: the manager decided the unit and the platform."""
    changed = account_request.model_copy(update=change)
    with pytest.raises(RuleViolation, match="R-01"):
        walk(Stage.AMENDING).decide(AmendRequest(actor=REQUESTER, request=changed))


def test_r03_the_send_back_loop_repeats_and_is_counted(
    walk: Walk, account_request: AccountRequest
) -> None:
    journey = walk(Stage.AMENDING)
    journey.do(AmendRequest(actor=REQUESTER, request=account_request))
    journey.do(sign_off(SignOffDecision.SEND_BACK, comment="Still no policy link"))
    journey.do(AmendRequest(actor=REQUESTER, request=account_request))
    assert journey.current.times_sent_back == 2
    journey.do(sign_off(SignOffDecision.APPROVE))
    assert journey.current.stage is Stage.AWAITING_ACTIVATION


def test_r03_no_sign_off_while_amending(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.AMENDING).decide(sign_off(SignOffDecision.APPROVE))


def test_r03_communications_rejects_with_a_reason(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_SIGNOFF)
    [rejected] = journey.do(sign_off(SignOffDecision.REJECT, comment="Duplicates the main page"))
    assert isinstance(rejected, RequestRejected) and rejected.stage is Stage.AWAITING_SIGNOFF
    assert journey.current.stage is Stage.REJECTED
    assert journey.current.rejection_reason == "Duplicates the main page"


@pytest.mark.parametrize(
    "stage",
    [Stage.RISK_ASSESSMENT, Stage.AWAITING_SIGNOFF, Stage.AMENDING, Stage.AWAITING_ACTIVATION],
)
def test_r03_communications_may_also_reject_after_the_manager(walk: Walk, stage: Stage) -> None:
    journey = walk(stage)
    journey.do(RejectRequest(actor=COMMS[1], reason="Platform not approved"))
    assert journey.current.stage is Stage.REJECTED
    with pytest.raises(NotAuthorised):
        walk(stage).decide(RejectRequest(actor=REQUESTER, reason="Changed my mind"))


# --- activation ---


def test_r07_r12_activation_lists_the_account(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_ACTIVATION)
    assert types(journey.do(activate())) == [AccountActivated, ListedInRegister]
    state = journey.current
    assert (state.stage, state.listed) == (Stage.ACTIVE, True)
    assert state.url == "https://www.facebook.com/kulturhusetangen"
    assert set(state.admins) == {REQUESTER, ADMIN_2} and state.admins_with_two_factor == 2
    assert lifecycle_plan(state) == []
    # from now on only the monitoring duties fall due (domain/monitoring/).
    assert next_deadline(state) == deadline_plan(state)[0].due
    assert deadline_plan(state)[0].name == "check_in_midday"


@pytest.mark.parametrize("who", [MANAGER, REQUESTER])
def test_r12_only_communications_activates(walk: Walk, who: str) -> None:
    with pytest.raises(NotAuthorised):
        walk(Stage.AWAITING_ACTIVATION).decide(activate(actor=who))


def test_r12_activation_with_one_admin_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ActivateAccount(
            actor=COMMS[0],
            handle="h",
            url="https://x.example/h",
            admins=[Admin(person=REQUESTER, two_factor=True)],
        )
    assert locs(caught.value) == [("admins",)]


def test_r12_the_same_admin_twice_is_not_two_admins(walk: Walk) -> None:
    same = Admin(person=REQUESTER, two_factor=True)
    with pytest.raises(RuleViolation, match="twice"):
        walk(Stage.AWAITING_ACTIVATION).decide(activate(same, same))


def test_r12_every_admin_needs_two_factor_at_activation(walk: Walk) -> None:
    admins = (
        Admin(person=REQUESTER, two_factor=True),
        Admin(person=ADMIN_2),
        Admin(person=NEW_ADMIN, two_factor=True),
    )
    with pytest.raises(RuleViolation, match=f"R-12.*missing for {ADMIN_2}$"):
        walk(Stage.AWAITING_ACTIVATION).decide(activate(*admins))


def test_r12_activation_only_after_sign_off(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.AWAITING_SIGNOFF).decide(activate())


# --- admins while active ---


def test_r12_losing_two_factor_coverage_starts_the_restore_plan(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    events = journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2, reason="Left the unit"))
    assert types(events) == [AdminRemoved, AdminCoverageLost]
    assert isinstance(events[1], AdminCoverageLost) and events[1].admins_with_two_factor == 1
    assert journey.current.coverage_lost_at == T0
    plan = lifecycle_plan(journey.current)
    assert [(s.name, s.kind, s.due) for s in plan] == [
        ("admin_restore_reminder", "remind", at_close(2026, 4, 1)),
        ("admin_restore_deadline", "escalate", at_close(2026, 4, 8)),
        ("admin_restore_escalation", "escalate", at_close(2026, 4, 15)),
        # Issue 16: never silent: escalated again every 5 working days.
        ("admin_restore_chase", "escalate", at_close(2026, 4, 22)),
    ]
    assert plan[0].recipients == (REQUESTER, MANAGER, DEPUTY)
    # The monitoring duties run beside it; the earliest step is next.
    assert next_deadline(journey.current) == min(s.due for s in deadline_plan(journey.current))
    assert at_close(2026, 4, 1) in {s.due for s in pending_steps(journey.current)}


def test_r12_adding_an_admin_with_two_factor_restores_coverage(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    events = journey.do(AddAdmin(actor=DEPUTY, person=NEW_ADMIN, two_factor=True))
    assert types(events) == [AdminAdded, AdminCoverageRestored]
    assert journey.current.coverage_lost_at is None
    assert lifecycle_plan(journey.current) == []


def test_r12_admin_confirming_own_two_factor_restores_coverage(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    assert types(journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN))) == [AdminAdded]
    assert journey.current.coverage_lost_at is not None  # added without 2FA: still lost
    events = journey.do(ConfirmTwoFactor(actor=NEW_ADMIN, person=NEW_ADMIN))
    assert types(events) == [AdminTwoFactorConfirmed, AdminCoverageRestored]
    assert journey.current.admins[NEW_ADMIN].two_factor
    assert lifecycle_plan(journey.current) == []


def test_r12_removing_a_third_admin_keeps_coverage(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN, two_factor=True))
    assert types(journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))) == [AdminRemoved]
    assert journey.current.coverage_lost_at is None


def test_r12_coverage_lost_is_recorded_once(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    assert types(journey.do(RemoveAdmin(actor=MANAGER, person=REQUESTER))) == [AdminRemoved]


def test_r12_restore_deadlines_fire_and_are_cleared_by_the_restore(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    events = journey.do(FireDueDeadlines(actor=SYSTEM), at=at_close(2026, 4, 8))
    lifecycle = [e for e in events if isinstance(e, DeadlineReminderSent | DeadlineEscalated)]
    assert [(type(e), e.step.rsplit(":", 1)[1]) for e in lifecycle] == [
        (DeadlineReminderSent, "admin_restore_reminder"),
        (DeadlineEscalated, "admin_restore_deadline"),
    ]
    assert journey.current.escalated
    journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN, two_factor=True))
    assert not journey.current.escalated and lifecycle_plan(journey.current) == []


@pytest.mark.parametrize("who", [COMMS[0], REQUESTER, ADMIN_2, REGISTRAR])
@pytest.mark.parametrize(
    "command",
    [
        lambda who: AddAdmin(actor=who, person=NEW_ADMIN, two_factor=True),
        lambda who: RemoveAdmin(actor=who, person=ADMIN_2),
    ],
    ids=["add", "remove"],
)
def test_r13_only_the_manager_appoints_and_removes_admins(
    walk: Walk, who: str, command: Callable[[str], AddAdmin | RemoveAdmin]
) -> None:
    with pytest.raises(NotAuthorised, match="R-13"):
        walk(Stage.ACTIVE).decide(command(who))


def test_r12_an_admin_may_not_confirm_another_admins_two_factor(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN))
    with pytest.raises(NotAuthorised):
        journey.decide(ConfirmTwoFactor(actor=ADMIN_2, person=NEW_ADMIN))
    assert journey.decide(ConfirmTwoFactor(actor=COMMS[0], person=NEW_ADMIN))


@pytest.mark.parametrize(
    "command",
    [
        AddAdmin(actor=MANAGER, person=ADMIN_2),
        RemoveAdmin(actor=MANAGER, person=STRANGER),
        ConfirmTwoFactor(actor=STRANGER, person=STRANGER),
        ConfirmTwoFactor(actor=ADMIN_2, person=ADMIN_2),
    ],
    ids=["add-existing", "remove-unknown", "confirm-unknown", "confirm-twice"],
)
def test_r12_admin_changes_must_make_sense(walk: Walk, command: AddAdmin | RemoveAdmin) -> None:
    with pytest.raises(RuleViolation):
        walk(Stage.ACTIVE).decide(command)


def test_r13_admins_change_only_while_active(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.AWAITING_ACTIVATION).decide(AddAdmin(actor=MANAGER, person=NEW_ADMIN))


def test_r01_r13_updated_authorities_decide_from_then_on(
    walk: Walk, authorities: Authorities
) -> None:
    """R-01/R-13 as of the directory's last load: a new deputy may approve, the old may not."""
    journey = walk(Stage.AWAITING_MANAGER)
    assert journey.decide(UpdateAuthorities(actor=SYSTEM, authorities=authorities)) == []
    new = authorities.model_copy(update={"deputy": "ivar.ny"})
    assert types(journey.do(UpdateAuthorities(actor=SYSTEM, authorities=new))) == [
        AuthoritiesUpdated
    ]
    with pytest.raises(NotAuthorised):
        journey.decide(ApproveRequest(actor=DEPUTY, admins_equipped=True))
    assert journey.decide(ApproveRequest(actor="ivar.ny", admins_equipped=True))
    other = authorities.model_copy(update={"unit_id": "skola"})
    with pytest.raises(RuleViolation):
        journey.decide(UpdateAuthorities(actor=SYSTEM, authorities=other))


# --- deadlines (R-23 reading, R-43) ---

REMINDER, ESCALATION, LAPSE = at_close(2026, 4, 8), at_close(2026, 4, 15), at_close(2026, 5, 15)


def test_r23_manager_deadlines_count_swedish_working_days_over_easter(walk: Walk) -> None:
    """5, 10 and 30 working days from Mon 30 March skip Good Friday, Easter Monday,
    1 May and Ascension (14 May); local time of day is kept."""
    plan = deadline_plan(walk(Stage.AWAITING_MANAGER).current)
    assert [(s.name, s.kind, s.due) for s in plan] == [
        ("manager_reminder", "remind", REMINDER),
        ("manager_escalation", "escalate", ESCALATION),
        ("manager_lapse", "lapse", LAPSE),
    ]
    assert next_deadline(walk(Stage.AWAITING_MANAGER).current) == REMINDER


def test_r23_nothing_fires_before_it_is_due(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)
    assert journey.decide(FireDueDeadlines(actor=SYSTEM), at=REMINDER - timedelta(seconds=1)) == []


def test_r23_reminder_then_escalation_then_lapse(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)

    [reminder] = journey.do(FireDueDeadlines(actor=SYSTEM), at=REMINDER)
    assert isinstance(reminder, DeadlineReminderSent)
    assert (reminder.recipients, reminder.due, reminder.stage) == (
        [MANAGER, DEPUTY],
        REMINDER,
        Stage.AWAITING_MANAGER,
    )
    assert journey.current.fired_steps == [reminder.step]
    assert not journey.current.escalated
    assert journey.decide(FireDueDeadlines(actor=SYSTEM)) == []  # same time: not again
    assert next_deadline(journey.current) == ESCALATION

    [escalation] = journey.do(FireDueDeadlines(actor=SYSTEM), at=ESCALATION + timedelta(hours=1))
    assert isinstance(escalation, DeadlineEscalated)
    assert escalation.recipients == sorted(COMMS) and escalation.due == ESCALATION
    assert journey.current.escalated

    [lapsed] = journey.do(FireDueDeadlines(actor=SYSTEM), at=LAPSE)
    assert isinstance(lapsed, RequestLapsed)
    assert journey.current.stage is Stage.LAPSED
    assert next_deadline(journey.current) is None
    assert journey.decide(FireDueDeadlines(actor=SYSTEM), at=LAPSE + timedelta(days=90)) == []
    with pytest.raises(WrongStage):
        journey.decide(ApproveRequest(actor=MANAGER, admins_equipped=True))


def test_r23_a_late_wake_up_fires_everything_due_and_stops_at_the_lapse(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)
    events = journey.do(FireDueDeadlines(actor=SYSTEM), at=utc(2027, 1, 1))
    assert types(events) == [DeadlineReminderSent, DeadlineEscalated, RequestLapsed]
    assert [e.due for e in events] == [REMINDER, ESCALATION, LAPSE]  # type: ignore[union-attr]
    assert journey.current.stage is Stage.LAPSED
    assert len(journey.current.fired_steps) == 3


def test_r23_a_new_stage_resets_escalation_and_starts_its_own_plan(walk: Walk) -> None:
    journey = walk(Stage.AWAITING_MANAGER)
    journey.do(FireDueDeadlines(actor=SYSTEM), at=ESCALATION)
    assert journey.current.escalated
    journey.do(ApproveRequest(actor=MANAGER, admins_equipped=True))
    assert not journey.current.escalated
    # risk reminder: 10 working days from 15 April
    assert next_deadline(journey.current) == at_close(2026, 4, 29)
    assert {s.name for s in pending_steps(journey.current)} == {"risk_reminder", "risk_escalation",
                                                                "risk_chase"}


def test_r43_the_policy_is_a_setting(
    walk: Walk, request_command: Callable[..., RequestAccount]
) -> None:
    """R-43: reminder after 2, escalation after 3, lapse after 4 working days."""
    policy = LifecyclePolicy(
        manager_reminder_days=2, manager_escalation_days=3, manager_lapse_days=4
    )
    state = walk(Stage.AWAITING_MANAGER, start=request_command(policy=policy)).current
    assert [s.due for s in deadline_plan(state)] == [
        at_close(2026, 4, 1),
        at_close(2026, 4, 2),
        at_close(2026, 4, 7),
    ]


@pytest.mark.parametrize(
    "steps",
    [
        {"manager_reminder_days": 10, "manager_escalation_days": 10},
        {"manager_escalation_days": 40},
        {"amend_reminder_days": 30},
        {"admin_restore_days": 1},
    ],
)
def test_r43_deadline_steps_must_grow(steps: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="must grow strictly"):
        LifecyclePolicy(**steps)


def test_r23_norwegian_deadlines_skip_17_may(
    request_command: Callable[..., RequestAccount], authorities: Authorities
) -> None:
    """From Mon 15 May 2028, 5 working days end Tue 23 May in Norway (17 May is a
    Wednesday holiday) and Mon 22 May in Sweden, at closing time (16:30)."""
    start = utc(2028, 5, 15, 9)

    def reminder(country: Country, tz: str) -> datetime | None:
        journey = Journey(now=start)
        norwegian = authorities.model_copy(update={"municipality_id": "kristiansand"})
        journey.do(request_command(country=country, timezone=tz, municipality_id="kristiansand",
                                   authorities=norwegian))
        return next_deadline(journey.current)

    assert reminder(Country.NO, "Europe/Oslo") == utc(2028, 5, 23, 14, 30)
    assert reminder(Country.SE, "Europe/Stockholm") == utc(2028, 5, 22, 14, 30)


# --- closure ---


@pytest.mark.parametrize("who", [MANAGER, DEPUTY, COMMS[1]])
def test_r19_manager_or_communications_requests_closure(walk: Walk, who: str) -> None:
    journey = walk(Stage.ACTIVE)
    assert types(journey.do(RequestClosure(actor=who, reason="Inactive"))) == [ClosureRequested]
    state = journey.current
    assert (state.stage, state.closure_reason, state.closure_requested_by) == (
        Stage.CLOSING,
        "Inactive",
        who,
    )


@pytest.mark.parametrize("who", [REQUESTER, ADMIN_2, REGISTRAR])
def test_r19_others_may_not_close(walk: Walk, who: str) -> None:
    with pytest.raises(NotAuthorised, match="R-19"):
        walk(Stage.ACTIVE).decide(RequestClosure(actor=who, reason="Inactive"))


def test_r19_closure_needs_a_reason() -> None:
    with pytest.raises(ValidationError) as caught:
        RequestClosure(actor=MANAGER, reason="")
    assert locs(caught.value) == [("reason",)]


@pytest.mark.parametrize("stage", [Stage.AWAITING_ACTIVATION, Stage.CLOSING])
def test_r19_only_an_active_account_is_closed(walk: Walk, stage: Stage) -> None:
    with pytest.raises(WrongStage):
        walk(stage).decide(RequestClosure(actor=MANAGER, reason="Inactive"))


def test_r19_closing_clears_a_running_coverage_plan(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    journey.do(RequestClosure(actor=MANAGER, reason="Breaks the rules"))
    assert journey.current.coverage_lost_at is None and next_deadline(journey.current) is None


def test_r38_final_snapshot_goes_to_the_registrar_and_closes(walk: Walk) -> None:
    journey = walk(Stage.CLOSING)
    events = journey.do(RecordFinalSnapshot(actor=SYSTEM, package=package()))
    assert types(events) == [FinalSnapshotArchived, RemovedFromRegister, AccountClosed]
    assert isinstance(events[0], FinalSnapshotArchived)
    assert events[0].registrars == [REGISTRAR] and events[0].package == package()
    state = journey.current
    assert (state.stage, state.listed, state.final_package) == (Stage.CLOSED, False, package())
    assert state.closed_at == T0


def test_r38_no_final_snapshot_before_closure_is_requested(walk: Walk) -> None:
    with pytest.raises(WrongStage):
        walk(Stage.ACTIVE).decide(RecordFinalSnapshot(actor=SYSTEM, package=package()))


def every_command(
    account_request: AccountRequest,
    authorities: Authorities,
    request_command: Callable[..., RequestAccount],
) -> list[Command]:
    """One of each command but FireDueDeadlines, from people who could issue it."""
    return [
        request_command(),
        ApproveRequest(actor=MANAGER, admins_equipped=True),
        RejectRequest(actor=MANAGER, reason="No"),
        assessment(RiskAssessmentKind.ROS),
        sign_off(SignOffDecision.APPROVE),
        AmendRequest(actor=REQUESTER, request=account_request),
        activate(),
        AddAdmin(actor=MANAGER, person=NEW_ADMIN, two_factor=True),
        RemoveAdmin(actor=MANAGER, person=ADMIN_2),
        AppointPublisher(actor=MANAGER, person="publ.icist"),
        RemovePublisher(actor=MANAGER, person="publ.icist"),
        ConfirmTwoFactor(actor=ADMIN_2, person=ADMIN_2),
        RequestClosure(actor=MANAGER, reason="Again"),
        UpdateAuthorities(
            actor=SYSTEM, authorities=authorities.model_copy(update={"deputy": "ivar.ny"})
        ),
        RecordFinalSnapshot(actor=SYSTEM, package=package()),
        ChangeMessageSettings(actor=MANAGER, policy=MessagePolicy(signature="required")),
        RecordCheckIn(actor=REQUESTER),
        RecordPost(actor=REQUESTER, post_id="p-1", published_at=T0),
        ConfirmPost(actor=MANAGER, post_id="p-1"),
        SendBackPost(actor=MANAGER, post_id="p-1", comment="Utan personnummer"),
        KeepAccount(actor=COMMS[0], reason="Seasonal"),
        ReportWatchItem(actor=REQUESTER, summary="Wrong opening hours", seen_at=T0),
        ResolveWatchItem(actor=MANAGER, item_id="W-1", note="Fixed"),
        ChangeMonitoringSettings(actor=MANAGER, policy=MonitoringPolicy(posts_per_week=1)),
        RecordProfileChange(actor=COMMS[0], name="Kulturhuset Ängen och Biblioteket"),
        RecordAbsence(actor=REQUESTER, person=REQUESTER, starts_on=date(2026, 4, 6),
                      ends_on=date(2026, 4, 10), cover=ADMIN_2),
        CancelAbsence(actor=REQUESTER, absence_id="A-1"),
        WithdrawConsent(actor=REQUESTER, upload_id=CONSENT_UPLOAD, reason="Withdrawn"),
    ]


@pytest.mark.parametrize("stage", [Stage.CLOSED, Stage.REJECTED, Stage.LAPSED])
def test_r19_a_finished_account_refuses_every_command(
    walk: Walk,
    stage: Stage,
    account_request: AccountRequest,
    authorities: Authorities,
    request_command: Callable[..., RequestAccount],
) -> None:
    journey = walk(stage)
    commands = every_command(account_request, authorities, request_command)
    assert {type(c) for c in commands} | {FireDueDeadlines} == set(get_args(Command))
    for command in commands:
        with pytest.raises(WrongStage):
            journey.decide(command)
    assert journey.decide(FireDueDeadlines(actor=SYSTEM), at=utc(2030, 1, 1)) == []


# --- fold, JSON ---


@pytest.fixture
def tour(walk: Walk, account_request: AccountRequest, authorities: Authorities) -> Journey:
    """A long life that produces most kinds of event, one after another."""
    journey = walk(Stage.AMENDING)
    journey.do(
        AmendRequest(actor=REQUESTER, request=account_request, comment="Logo added"),
        at=T0 + timedelta(hours=2),
    )
    journey.do(sign_off(SignOffDecision.APPROVE, comment="Fine"), at=utc(2026, 4, 1, 7, 15))
    journey.do(activate(), at=utc(2026, 4, 2, 8))
    # R-15..R-20: monitoring, whose steps the long wait below fires too.
    journey.do(RecordCheckIn(actor=REQUESTER), at=utc(2026, 4, 2, 9))
    journey.do(RecordPost(actor=SYSTEM, post_id="1790_22", published_at=utc(2026, 4, 2, 9)))
    # posts held for confidential information, sent back and confirmed.
    for post_id, text in (("1790_23", "Grattis 19121212-1212!"),
                          ("1790_24", "Sekretessbelagd uppgift")):
        journey.do(RecordPost(actor=REQUESTER, post_id=post_id, text=text,
                              published_at=utc(2026, 4, 2, 9)))
    journey.do(SendBackPost(actor=MANAGER, post_id="1790_23", comment="Utan personnummer"))
    journey.do(ConfirmPost(actor=MANAGER, post_id="1790_24"))
    journey.do(ReportWatchItem(actor=REQUESTER, summary="Wrong opening hours in a newspaper",
                               link="https://example.org/a", seen_at=utc(2026, 4, 2, 7)))
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2, reason="Left"))
    journey.do(FireDueDeadlines(actor=SYSTEM), at=utc(2026, 6, 1, 12))
    journey.do(ResolveWatchItem(actor=MANAGER, item_id="W-1", note="Corrected on the web"))
    journey.do(KeepAccount(actor=COMMS[0], reason="Summer programme starts in June"))
    journey.do(ChangeMonitoringSettings(actor=MANAGER, policy=MonitoringPolicy(posts_per_week=1)))
    journey.do(RecordProfileChange(actor=REQUESTER, handle="angen.kultur", picture_changed=True,
                                   note="New logo"))
    journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN))
    journey.do(ConfirmTwoFactor(actor=NEW_ADMIN, person=NEW_ADMIN))
    journey.do(AppointPublisher(actor=MANAGER, person="publ.icist"))
    journey.do(RemovePublisher(actor=MANAGER, person="publ.icist"))
    journey.do(
        UpdateAuthorities(
            actor=SYSTEM, authorities=authorities.model_copy(update={"deputy": "ivar.ny"})
        )
    )
    journey.do(ChangeMessageSettings(actor=MANAGER, policy=MessagePolicy(signature="required")))
    # both admins away on 10 June: the manager is told, then one is back.
    journey.do(RecordAbsence(actor=REQUESTER, person=REQUESTER, starts_on=date(2026, 6, 8),
                             ends_on=date(2026, 6, 12), cover=NEW_ADMIN))
    journey.do(RecordAbsence(actor=NEW_ADMIN, person=NEW_ADMIN, starts_on=date(2026, 6, 10),
                             ends_on=date(2026, 6, 10), cover="olle.kollega",
                             cover_in_directory=True))
    journey.do(FireDueDeadlines(actor=SYSTEM), at=utc(2026, 6, 11, 12))
    journey.do(CancelAbsence(actor=REQUESTER, absence_id="A-1"))
    # R-41 (issue 14): a post with a guardian's uploaded consent, then withdrawn.
    journey.do(RecordPost(actor=REQUESTER, post_id="1790_41", published_at=journey.now,
                          images=(PostImage(rights="Foto: Lisa Berg", child_under_15=True,
                                            guardian_consent_upload=ConsentUpload(
                                                upload_id=CONSENT_UPLOAD, sha256="c0" * 32,
                                                file_name="samtycke.pdf")),)))
    journey.do(WithdrawConsent(actor=COMMS[0], upload_id=CONSENT_UPLOAD,
                               reason="The guardian withdrew it"))
    journey.do(RequestClosure(actor=COMMS[0], reason="Inactive for a year"), at=utc(2027, 6, 1))
    journey.do(RecordFinalSnapshot(actor=SYSTEM, package=package()))
    return journey


def test_fold_equals_stepwise_evolve(tour: Journey) -> None:
    assert fold(tour.events) == tour.current
    assert tour.current.version == len(tour.events)
    state = None
    for n, event in enumerate(tour.events, start=1):
        state = evolve(state, event)
        assert fold(tour.events[:n]) == state


def test_every_event_decide_produces_round_trips_through_json(tour: Journey, walk: Walk) -> None:
    """The projection stores events as JSON; each must come back equal."""
    events = [*tour.events, *walk(Stage.REJECTED).events, *walk(Stage.LAPSED).events]
    union = get_args(get_args(AccountEvent)[0])
    assert {type(e) for e in events} == set(union)  # the tour really covers every kind
    for event in events:
        assert parse_event(event.model_dump(mode="json")) == event


def test_folding_stored_json_gives_the_same_state_and_deadlines(tour: Journey) -> None:
    """The read model folds JSON; the workflow folds objects: same state, same step keys."""
    # up to the coverage loss, so the restore deadlines are pending
    upto = 1 + next(n for n, e in enumerate(tour.events) if isinstance(e, AdminCoverageLost))
    journey = Journey()
    for event in tour.events[:upto]:
        journey.state = evolve(journey.state, parse_event(event.model_dump(mode="json")))
    original = fold(tour.events[:upto])
    assert journey.current == original
    assert pending_steps(journey.current) == pending_steps(original) != []


@pytest.mark.parametrize(
    "stage", [Stage.AWAITING_MANAGER, Stage.AWAITING_SIGNOFF, Stage.ACTIVE, Stage.CLOSED]
)
def test_state_round_trips_through_json_for_continue_as_new(walk: Walk, stage: Stage) -> None:
    state = walk(stage).current
    assert AccountState.model_validate_json(state.model_dump_json()) == state


# --- names ---


@pytest.mark.parametrize(
    "name, platform, slug",
    [
        ("Kulturhuset Ängen", Platform.FACEBOOK, "kulturhuset-angen-facebook"),
        ("Åsa & Örjans bibliotek!", Platform.INSTAGRAM, "asa-orjans-bibliotek-instagram"),
        ("  Räddningstjänsten -- Östra  ", Platform.X, "raddningstjansten-ostra-x"),
        ("💬", Platform.TIKTOK, "konto-tiktok"),
        ("!!!", Platform.YOUTUBE, "konto-youtube"),
    ],
)
def test_account_slug_folds_swedish_letters_and_is_never_empty(
    name: str, platform: Platform, slug: str
) -> None:
    assert account_slug(name, platform) == slug


def test_account_slug_is_bounded_and_clean() -> None:
    slug = account_slug("Förskola " * 20, Platform.LINKEDIN)
    words = slug.removesuffix("-linkedin")
    assert len(words) <= 60 and not words.endswith("-") and words.startswith("forskola-")


def test_workflow_id_format() -> None:
    assert (
        workflow_id_for("norrkoping", "kulturhuset-angen-facebook")
        == "account:norrkoping:kulturhuset-angen-facebook"
    )


def test_request_unit_is_the_authorities_unit(walk: Walk) -> None:
    state = walk(Stage.AWAITING_MANAGER).current
    assert state.request.unit_id == state.authorities.unit_id == UNIT


# --- how the account's messages are answered ---


@pytest.mark.parametrize("who", [MANAGER, COMMS[0]])
def test_r43_the_manager_or_communications_set_how_messages_are_answered(
    walk: Walk, who: str
) -> None:
    """R-23, R-26, R-43: answer rule, office hours and signature are the
    account's own settings; changing them is on the record."""
    journey = walk(Stage.ACTIVE)
    policy = MessagePolicy(answer_rule="office_hours", signature="required")
    assert types(journey.do(ChangeMessageSettings(actor=who, policy=policy))) == [
        MessageSettingsChanged]
    assert journey.current.message_policy == policy
    assert journey.decide(ChangeMessageSettings(actor=who, policy=policy)) == []


def test_r43_an_admin_may_not_change_how_messages_are_answered(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    with pytest.raises(NotAuthorised):
        journey.decide(ChangeMessageSettings(actor=ADMIN_2, policy=MessagePolicy()))
