"""Issue 16 on the account side, scenario by scenario, as the seeds word the
rules: the manager controls who runs an account (R-12, R-13, R-52), closure
of accounts that break the rules (R-19), the sign-off (R-03, R-05, R-48,
R-51), who decides (R-01, R-53), main accounts (R-49), the registrar at
closure (R-38), and chains that never go silent.

Fixtures (`walk`, Journey) are in conftest.py; T0 is Monday 30 March 2026."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.account import (
    AccountKept,
    ActivateAccount,
    AddAdmin,
    Admin,
    AmendRequest,
    ApproveRequest,
    ClosureProposed,
    ClosureProposedForBreach,
    ConfirmTwoFactor,
    DeadlineEscalated,
    DeadlineReminderSent,
    FinalSnapshotArchived,
    FireDueDeadlines,
    KeepAccount,
    LifecyclePolicy,
    ManagerApproved,
    NotAuthorised,
    Platform,
    RecordCheckIn,
    RecordFinalSnapshot,
    RemoveAdmin,
    RequestAccount,
    RequestClosure,
    Routine,
    RuleViolation,
    SignOff,
    SignOffApproved,
    SignOffChecklist,
    SignOffDecision,
    Stage,
    UpdateAuthorities,
    case_answerers,
    next_deadline,
    pending_steps,
)
from domain.directory import Authorities
from domain.monitoring import MonitoringPolicy
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    MUNICIPALITY,
    REGISTRAR,
    REQUESTER,
    SYSTEM,
    T0,
    UNIT,
    Journey,
    full_checklist,
    package,
)

Walk = Callable[..., Journey]
NEW_ADMIN = "ida.adm"
DIRECTOR = "kim.direktor"  # the next level above the culture unit's manager
YEAR = 400  # days: "silent to day 400" in the finding


def escalations(journey: Journey, name: str) -> list[DeadlineEscalated]:
    return [e for e in journey.events
            if isinstance(e, DeadlineEscalated) and f":{name}:" in e.step]


def fire_weekly(journey: Journey, days: int) -> None:
    """The workflow's timer, as it fires: due steps recorded week by week."""
    start = journey.now
    for week in range(days // 7 + 1):
        journey.do(FireDueDeadlines(actor=SYSTEM, skip_superseded=True),
                   at=start + timedelta(days=7 * week))


def authorities(**changes: object) -> Authorities:
    base = Authorities(municipality_id=MUNICIPALITY, unit_id=UNIT, manager=MANAGER,
                       deputy=DEPUTY, next_level=DIRECTOR, communications_unit="kommunikation",
                       communications=frozenset(COMMS), registrars=frozenset({REGISTRAR}))
    return base.model_copy(update=changes)


# ---------------------------------------------------------------


def test_r13_communications_cannot_activate_admins_the_manager_never_appointed(
        walk: Walk) -> None:
    """R-13 [002, 003, 004]: "Förvaltningschefen ... utser kontoansvariga": the
    communications unit activates with the appointed admins only."""
    journey = walk(Stage.AWAITING_ACTIVATION)
    strangers = ActivateAccount(
        actor=COMMS[0], handle="kultur", url="https://www.facebook.com/kultur",
        admins=[Admin(person="x.okand", two_factor=True), Admin(person="y.okand",
                                                                 two_factor=True)])
    with pytest.raises(RuleViolation, match="R-13.*x.okand, y.okand") as refused:
        journey.decide(strangers)
    assert refused.value.key == "activate.not_appointed"
    approved = next(e for e in journey.events if isinstance(e, ManagerApproved))
    assert approved.admins == [REQUESTER, ADMIN_2]  # appointed with the approval, on the record


def test_r13_admins_the_requester_adds_in_an_amendment_are_not_appointed(walk: Walk) -> None:
    """R-13: an amendment by the requester does not appoint admins; the manager's does."""
    journey = walk(Stage.AMENDING)
    changed = journey.current.request.model_copy(update={"proposed_admins": [REQUESTER,
                                                                             NEW_ADMIN]})
    journey.do(AmendRequest(actor=REQUESTER, request=changed))
    journey.do(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                       checklist=full_checklist()))
    activate = ActivateAccount(actor=COMMS[0], handle="kultur",
                               url="https://www.facebook.com/kultur",
                               admins=[Admin(person=REQUESTER, two_factor=True),
                                       Admin(person=NEW_ADMIN, two_factor=True)])
    with pytest.raises(RuleViolation, match=f"R-13.*{NEW_ADMIN}"):
        journey.decide(activate)
    # The manager's own amendment appoints them.
    journey2 = walk(Stage.AMENDING)
    journey2.do(AmendRequest(actor=MANAGER, request=changed))
    journey2.do(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                        checklist=full_checklist()))
    assert journey2.do(activate)


def test_r12_r13_an_account_with_no_admins_is_escalated_all_year_and_proposed_for_closure(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-12 [003, 004]: "minst två administratörer"; the finding: zero admins
    got one reminder, two escalations, then silence to day 400."""
    policy = LifecyclePolicy(admin_closure_days=15, chase_every_days=5)
    journey = walk(Stage.ACTIVE, start=request_command(policy=policy))
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2, reason="Left"))
    journey.do(RemoveAdmin(actor=MANAGER, person=REQUESTER, reason="Left"))
    assert journey.current.admins == {}
    fire_weekly(journey, YEAR)
    chased = escalations(journey, "admin_restore_chase")
    # 400 days are ~275 working days; after the first 10, one every 5.
    assert len(chased) >= 50
    assert chased[-1].at >= T0 + timedelta(days=YEAR - 14)  # still going at the end
    assert set(chased[0].recipients) >= {MANAGER, *COMMS}
    proposals = [e for e in journey.events if isinstance(e, ClosureProposedForBreach)]
    assert [p.breach for p in proposals] == ["admins"]  # once, then raised again:
    again = escalations(journey, "closure_proposal_again")
    assert len(again) >= 50 and again[-1].at >= T0 + timedelta(days=YEAR - 14)
    assert next_deadline(journey.current) is not None  # never silent


def test_r19_keeping_the_account_with_a_reason_closes_the_proposal_until_the_next_period(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-19: the communications unit keeps it with a reason (a person with the
    right closes the chain); a lasting breach is proposed again a period later."""
    policy = LifecyclePolicy(admin_closure_days=15)
    journey = walk(Stage.ACTIVE, start=request_command(policy=policy))
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    fire_weekly(journey, 28)
    assert journey.current.breach == "admins"
    with pytest.raises(NotAuthorised):
        journey.decide(KeepAccount(actor=MANAGER, reason="We need it"))
    journey.do(KeepAccount(actor=COMMS[0], reason="A new admin starts in May"))
    assert journey.current.breach_proposed_at is None
    assert not [s for s in pending_steps(journey.current)
                if s.name == "closure_proposal_again"]
    fire_weekly(journey, 35)
    assert [p.breach for p in journey.events if isinstance(p, ClosureProposedForBreach)] == [
        "admins", "admins"]


def test_r12_an_admin_added_without_two_factor_is_a_deficiency_that_is_chased(
        walk: Walk) -> None:
    """R-12 [004]: "tofaktorautentisering" for every admin; adding one without
    it raised nothing."""
    journey = walk(Stage.ACTIVE)
    journey.do(AddAdmin(actor=MANAGER, person=NEW_ADMIN, two_factor=False))
    for day in range(0, 60, 1):
        journey.do(RecordCheckIn(actor=REQUESTER), at=T0 + timedelta(days=day, hours=1))
        journey.do(FireDueDeadlines(actor=SYSTEM, skip_superseded=True))
    reminded = [e for e in journey.events if isinstance(e, DeadlineReminderSent)
                and e.step.startswith(f"two_factor:{NEW_ADMIN}")]
    chased = escalations(journey, f"two_factor_chase:{NEW_ADMIN}")
    assert len(reminded) == 1 and NEW_ADMIN in reminded[0].recipients
    assert len(chased) >= 7 and MANAGER in chased[0].recipients
    journey.do(ConfirmTwoFactor(actor=NEW_ADMIN, person=NEW_ADMIN))
    assert not [s for s in pending_steps(journey.current) if NEW_ADMIN in s.key]


def test_r13_with_the_last_admin_removed_the_manager_answers_the_open_cases(
        walk: Walk) -> None:
    """R-13 [002, 004]: the manager keeps the editorial responsibility: with
    no admin left, the manager and deputy step in on the open cases."""
    journey = walk(Stage.ACTIVE)
    assert case_answerers(journey.current) == sorted([ADMIN_2, REQUESTER])
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    journey.do(RemoveAdmin(actor=MANAGER, person=REQUESTER))
    assert case_answerers(journey.current) == [MANAGER, DEPUTY]


# ---------------------------------------------------------------


def test_r19_an_ignored_inactivity_proposal_is_raised_again_all_year(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-19 [003]: "Konton som inte används ... stängs": a proposal nobody
    answers is raised again on the rhythm, not once."""
    policy = LifecyclePolicy(monitoring=MonitoringPolicy(inactivity_days=30),
                             no_check_in_closure_days=3650)
    journey = walk(Stage.ACTIVE, start=request_command(policy=policy))
    for day in range(0, YEAR, 1):
        at = T0 + timedelta(days=day, hours=1)
        if at.weekday() < 5:
            journey.do(RecordCheckIn(actor=REQUESTER), at=at)
            journey.do(RecordCheckIn(actor=ADMIN_2), at=at + timedelta(hours=4))
        journey.do(FireDueDeadlines(actor=SYSTEM, skip_superseded=True))
    assert len([e for e in journey.events if isinstance(e, ClosureProposed)]) == 1
    again = escalations(journey, "closure_proposal_again")
    assert len(again) >= 50 and again[-1].at >= T0 + timedelta(days=YEAR - 14)


def test_r19_an_account_without_check_ins_is_proposed_for_closure(walk: Walk) -> None:
    """R-19 [003]: "konton som inte följer riktlinjerna stängs"; the finding:
    no check-ins, 47 escalations, never proposed."""
    journey = walk(Stage.ACTIVE)
    fire_weekly(journey, 35)
    proposed = [e for e in journey.events if isinstance(e, ClosureProposedForBreach)]
    assert [p.breach for p in proposed] == ["check_ins"]
    assert proposed[0].since == T0 and set(proposed[0].recipients) == set(COMMS)
    journey.do(KeepAccount(actor=COMMS[0], reason="New admins trained"))
    assert isinstance(journey.events[-1], AccountKept)


# ---------------------------------------------------------------


def test_r03_sent_back_for_another_platform_the_manager_amends_the_platform(
        walk: Walk) -> None:
    """R-03 [002, 003]: the communications unit approves "val av kanal" and
    may send a request back for that; the amendment was refused."""
    journey = walk(Stage.AWAITING_SIGNOFF)
    journey.do(SignOff(actor=COMMS[0], decision=SignOffDecision.SEND_BACK,
                       checklist=full_checklist(), platform_may_change=True,
                       comment="Use Instagram: the target group is there"))
    other = journey.current.request.model_copy(update={"platform": Platform.INSTAGRAM})
    with pytest.raises(NotAuthorised, match="R-01") as refused:
        journey.decide(AmendRequest(actor=REQUESTER, request=other))
    assert refused.value.key == "amend.platform_by_manager"
    journey.do(AmendRequest(actor=MANAGER, request=other))
    assert journey.current.request.platform is Platform.INSTAGRAM
    assert journey.current.stage is Stage.AWAITING_SIGNOFF


def test_r03_without_being_sent_back_for_it_the_platform_stays(walk: Walk) -> None:
    journey = walk(Stage.AMENDING)  # sent back for the profile, not the platform
    other = journey.current.request.model_copy(update={"platform": Platform.INSTAGRAM})
    with pytest.raises(RuleViolation, match="R-01"):
        journey.decide(AmendRequest(actor=MANAGER, request=other))


def test_r03_r53_a_communications_officer_does_not_sign_off_their_own_request(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-53: "a communications officer's own account to a colleague"."""
    journey = walk(Stage.AWAITING_SIGNOFF, start=request_command(actor=COMMS[0]))
    own = SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE, checklist=full_checklist())
    with pytest.raises(NotAuthorised, match="R-53") as refused:
        journey.decide(own)
    assert refused.value.key == "signoff.own_request"
    journey.do(own.model_copy(update={"actor": COMMS[1]}))
    assert journey.current.stage is Stage.AWAITING_ACTIVATION


def test_r03_the_checklist_quality_checks_the_communication_plan(walk: Walk) -> None:
    """R-03 [003]: "kvalitetssäkrar kommunikationsplanen"."""
    journey = walk(Stage.AWAITING_SIGNOFF)
    with pytest.raises(RuleViolation) as refused:
        journey.decide(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                               checklist=full_checklist(communication_plan_checked=False)))
    assert [p.key for p in refused.value.parts] == ["signoff.communication_plan"]


def test_r05_terms_are_read_then_accepted_by_an_authorised_delegate(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-05 [000, 002]: the terms are a binding contract "som endast får
    godkännas av behörig person" after they are read; read and accepted are
    two facts on the record; the manager may authorise someone."""
    journey = Journey()
    journey.do(request_command())
    journey.do(ApproveRequest(actor=MANAGER, terms_delegate=REQUESTER, admins_equipped=True))
    for kind in ("ros", "dpia"):
        journey.do(_assess(kind))
    base = {"terms_read_and_accepted_by": None}
    unread = full_checklist(**base, terms_accepted_by=REQUESTER)
    with pytest.raises(RuleViolation) as refused:
        journey.decide(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                               checklist=unread))
    assert [p.key for p in refused.value.parts] == ["signoff.terms_unread"]
    stranger = full_checklist(**base, terms_read_by=[ADMIN_2], terms_accepted_by=ADMIN_2)
    with pytest.raises(RuleViolation) as refused:
        journey.decide(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                               checklist=stranger))
    assert [p.key for p in refused.value.parts] == ["signoff.terms_by_whom"]
    done = full_checklist(**base, terms_read_by=[REQUESTER], terms_accepted_by=REQUESTER)
    events = journey.do(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                                checklist=done))
    approved = events[0]
    assert isinstance(approved, SignOffApproved)
    assert approved.checklist.terms_read_by == [REQUESTER]
    assert approved.checklist.terms_accepted_by == REQUESTER


def _assess(kind: str) -> object:
    from datetime import date

    from domain.account import RecordRiskAssessment, RiskAssessmentKind
    return RecordRiskAssessment(actor=REQUESTER, kind=RiskAssessmentKind(kind),
                                document_ref="KS 2026/17", completed_on=date(2026, 3, 27),
                                completed_by=REQUESTER)


def test_r48_where_a_new_page_only_informs_the_manager_signs_off_and_comms_is_told(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    """R-48 [004]: "informere om at det opprettes en side" (Kristiansand);
    the stricter default needs the communications unit's approval."""
    strict = walk(Stage.AWAITING_SIGNOFF)
    with pytest.raises(NotAuthorised, match="R-03"):
        strict.decide(SignOff(actor=MANAGER, decision=SignOffDecision.APPROVE,
                              checklist=full_checklist()))
    assert LifecyclePolicy().new_page == "approve"
    inform = walk(Stage.AWAITING_SIGNOFF,
                  start=request_command(policy=LifecyclePolicy(new_page="inform")))
    events = inform.do(SignOff(actor=MANAGER, decision=SignOffDecision.APPROVE,
                               checklist=full_checklist()))
    assert isinstance(events[0], SignOffApproved)
    assert events[0].informed == sorted(COMMS)


def test_r51_the_request_names_the_delegated_routines_and_the_sign_off_checks_them(
        walk: Walk, request_command: Callable[..., RequestAccount],
        request_fields: dict[str, object]) -> None:
    """R-51 [002]: delegating an account includes its routines (crisis
    communication, registration, disposal, archiving, unsuitable posts)."""
    from domain.account import AccountRequest

    partial = AccountRequest(**(request_fields | {"routines": [Routine.CRISIS]}))
    journey = walk(Stage.AWAITING_SIGNOFF, start=request_command(request=partial))
    with pytest.raises(RuleViolation) as refused:
        journey.decide(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE,
                               checklist=full_checklist(routines_checked=False)))
    keys = [p.key for p in refused.value.parts]
    assert keys == ["signoff.routines_missing", "signoff.routines_checked"]
    assert "crisis_communication" not in refused.value.parts[0].params["routines"]


# ---------------------------------------------------------------


def test_r01_r53_the_manager_does_not_approve_their_own_request(
        request_command: Callable[..., RequestAccount]) -> None:
    """R-53: "a manager's own request goes to the next level"; the deputy
    (below the manager) does not decide it either."""
    journey = Journey()
    journey.do(request_command(actor=MANAGER, authorities=authorities()))
    for who in (MANAGER, DEPUTY, COMMS[0]):
        with pytest.raises(NotAuthorised, match="R-5|R-01"):
            journey.decide(ApproveRequest(actor=who, admins_equipped=True))
    events = journey.do(ApproveRequest(actor=DIRECTOR, admins_equipped=True))
    assert isinstance(events[0], ManagerApproved) and events[0].approved_as == "next_level"


def test_r53_with_no_next_level_in_the_directory_the_managers_request_waits(
        request_command: Callable[..., RequestAccount]) -> None:
    journey = Journey()
    journey.do(request_command(actor=MANAGER, authorities=authorities(next_level=None)))
    with pytest.raises(NotAuthorised, match="names none yet"):
        journey.decide(ApproveRequest(actor=DEPUTY, admins_equipped=True))
    journey.do(UpdateAuthorities(actor=SYSTEM, authorities=authorities()))
    assert journey.do(ApproveRequest(actor=DIRECTOR, admins_equipped=True))


def test_r01_the_deputy_approves_and_is_recorded_as_the_deputy(walk: Walk) -> None:
    """R-01 [001 §3]: the reading chosen (docs/decisions.md): the deputy
    named in the directory stands in at any time, and the record says so."""
    journey = walk(Stage.AWAITING_MANAGER)
    events = journey.do(ApproveRequest(actor=DEPUTY, admins_equipped=True))
    assert isinstance(events[0], ManagerApproved) and events[0].approved_as == "deputy"


# ---------------------------------------------------------------


def test_r49_a_main_account_belongs_to_the_communications_unit(
        request_command: Callable[..., RequestAccount],
        request_fields: dict[str, object]) -> None:
    """R-49 [002, 004]: "Kommunens huvudkonton ägs av kommunikationsenheten"."""
    from domain.account import AccountRequest

    main = AccountRequest(**(request_fields | {"main_account": True}))
    with pytest.raises(RuleViolation, match="R-49"):
        Journey().do(request_command(request=main, authorities=authorities()))
    comms_main = AccountRequest(**(request_fields | {"main_account": True,
                                                    "unit_id": "kommunikation"}))
    ok = Journey()
    ok.do(request_command(request=comms_main,
                          authorities=authorities(unit_id="kommunikation")))
    assert ok.current.request.main_account


# ---------------------------------------------------------------


def test_r38_with_no_registrar_the_closure_waits_and_escalates(walk: Walk) -> None:
    """R-38 [002]: the capture "lämnas till registrator"; with none in the
    directory the final package went to nobody."""
    journey = walk(Stage.CLOSING)
    nobody = journey.current.authorities.model_copy(update={"registrars": frozenset()})
    journey.do(UpdateAuthorities(actor=SYSTEM, authorities=nobody))
    with pytest.raises(RuleViolation, match="R-38") as refused:
        journey.decide(RecordFinalSnapshot(actor=SYSTEM, package=package()))
    assert refused.value.key == "closure.no_registrar"
    fire_weekly(journey, 70)
    chased = escalations(journey, "closure_no_registrar")
    assert len(chased) >= 8 and set(chased[0].recipients) >= set(COMMS)
    journey.do(UpdateAuthorities(actor=SYSTEM, authorities=nobody.model_copy(
        update={"registrars": frozenset({REGISTRAR})})))
    events = journey.do(RecordFinalSnapshot(actor=SYSTEM, package=package()))
    assert isinstance(events[0], FinalSnapshotArchived) and events[0].registrars == [REGISTRAR]


def test_r38_r43_a_named_fallback_receives_the_final_package(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    journey = walk(Stage.CLOSING, start=request_command(
        policy=LifecyclePolicy(registrar_fallback="arkiv.central"),
        authorities=authorities(registrars=frozenset())))
    assert not [s for s in pending_steps(journey.current) if "no_registrar" in s.key]
    events = journey.do(RecordFinalSnapshot(actor=SYSTEM, package=package()))
    assert isinstance(events[0], FinalSnapshotArchived)
    assert events[0].registrars == ["arkiv.central"]


# --------------------------------------------------------------- chains that never go silent


@pytest.mark.parametrize(("stage", "name"), [
    (Stage.RISK_ASSESSMENT, "risk_chase"),
    (Stage.AWAITING_SIGNOFF, "signoff_chase"),
    (Stage.AWAITING_ACTIVATION, "activation_chase"),
])
def test_issue16_r03_r04_an_untaken_account_step_is_escalated_on_the_rhythm_for_a_year(
        walk: Walk, stage: Stage, name: str) -> None:
    """Approve, sign off, activate: escalated every `chase_every_days`
    working days until someone acts, not twice and then silence."""
    journey = walk(stage)
    fire_weekly(journey, YEAR)
    chased = escalations(journey, name)
    assert len(chased) >= 45
    assert chased[-1].at >= T0 + timedelta(days=YEAR - 14)
    assert journey.current.stage is stage and journey.current.escalated


def test_issue16_r43_the_rhythm_is_a_municipal_setting(
        walk: Walk, request_command: Callable[..., RequestAccount]) -> None:
    slow = walk(Stage.AWAITING_SIGNOFF,
                start=request_command(policy=LifecyclePolicy(chase_every_days=20)))
    fire_weekly(slow, YEAR)
    fast = walk(Stage.AWAITING_SIGNOFF)
    fire_weekly(fast, YEAR)
    assert 10 <= len(escalations(slow, "signoff_chase")) < len(escalations(fast,
                                                                         "signoff_chase")) / 3


def test_issue16_runs_recorded_before_keep_their_rules(walk: Walk) -> None:
    """A workflow run recorded before issue 16 (workflow.patched) replays as
    it was decided: no chase, the sign-off as it was."""
    journey = walk(Stage.AWAITING_SIGNOFF)
    journey.state = journey.current.model_copy(update={"legacy_rules": True})
    fire_weekly(journey, 100)
    assert not escalations(journey, "signoff_chase")
    old = SignOffChecklist(**(full_checklist().model_dump() | {
        "communication_plan_checked": False, "routines_checked": False}))
    assert journey.do(SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE, checklist=old))


def test_r19_closing_the_account_ends_the_chains(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    journey.do(RemoveAdmin(actor=MANAGER, person=ADMIN_2))
    fire_weekly(journey, 60)
    journey.do(RequestClosure(actor=MANAGER, reason="Breaks the rules (R-19)"))
    assert [s.name for s in pending_steps(journey.current)] == []


# ---------------------------------------------------------------


def _in_crisis(journey: Journey, *, publish: bool, through: bool) -> None:
    from domain.crisis_mode import CrisisMode, CrisisStatus

    mode = CrisisMode(crisis_id="norrkoping-1", municipality_id=MUNICIPALITY, declared_at=T0,
                      answer_within=timedelta(hours=2), checkin_every=timedelta(hours=2),
                      notice="Krisläge", communications_publish=publish,
                      communications=frozenset(COMMS), through_crisis_management=through,
                      crisis_management=frozenset({"krisa.ledning"}))
    journey.state = journey.current.model_copy(update={"crisis": CrisisStatus(mode=mode)})


def test_r47_in_a_crisis_the_communications_unit_publishes(walk: Walk) -> None:
    """R-47 [004]: "I krisesituasjon har kommunikasjonsenheten ansvaret for å
    publisere aktuell informasjon i sosiale medier"."""
    from domain.account import RecordPost

    journey = walk(Stage.ACTIVE)
    _in_crisis(journey, publish=True, through=False)
    post = RecordPost(actor=REQUESTER, post_id="p-1", published_at=journey.now)
    with pytest.raises(NotAuthorised, match="R-47") as refused:
        journey.decide(post)
    assert refused.value.key == "post.crisis_communications"
    assert journey.do(post.model_copy(update={"actor": COMMS[0]}))
    # The connector reports what the platform shows: a fact, recorded.
    assert journey.do(RecordPost(actor=SYSTEM, post_id="p-2", published_at=journey.now))


def test_r39_where_all_communication_goes_through_crisis_management_a_post_needs_its_approval(
        walk: Walk) -> None:
    """R-39 [004]: "skal all kommunikasjon gå via kriseledelsen": a staff post
    went through without crisis management's approval."""
    from domain.account import PostRecorded, RecordPost

    journey = walk(Stage.ACTIVE)
    _in_crisis(journey, publish=False, through=True)
    post = RecordPost(actor=REQUESTER, post_id="p-1", published_at=journey.now)
    with pytest.raises(NotAuthorised, match="R-39") as refused:
        journey.decide(post)
    assert refused.value.key == "post.crisis_approval"
    events = journey.do(post.model_copy(update={"approved_by": "krisa.ledning"}))
    assert isinstance(events[0], PostRecorded) and events[0].approved_by == "krisa.ledning"


# --------------------------------------------------------------- the sample directories


def test_r43_r47_r48_r53_the_sample_directories_are_set_as_their_guidelines_say() -> None:
    """Exempelby from the Swedish seeds, Fjordvik from Kristiansand's (004)."""
    from store.directory import parse_directory_yaml
    from tests.support import ROOT

    def load(name: str) -> object:
        return parse_directory_yaml(
            (ROOT / "deploy" / "directory" / name).read_text(encoding="utf-8"))

    exempelby, fjordvik = load("exempelby.yaml"), load("fjordvik.yaml")
    se, no = exempelby.municipality, fjordvik.municipality  # type: ignore[attr-defined]
    assert se.lifecycle.new_page == "approve" and no.lifecycle.new_page == "inform"
    assert not se.crisis.communications_publishes and no.crisis.communications_publishes
    assert no.crisis.communication_through_crisis_management  # R-39 (004)
    kultur = exempelby.authorities("kultur")  # type: ignore[attr-defined]
    assert kultur.next_level == "eva.marklund"
    assert kultur.communications_unit == "kommunikation"
    assert se.lifecycle.registrar_fallback is None  # waits rather than hand to nobody


# ---------------------------------------------------------------


def test_r52_the_manager_confirms_the_admins_time_resources_and_knowledge(walk: Walk) -> None:
    """R-52 [003]: "Förvaltningschefen ... ser till att de har tid, resurser
    och kunskap": confirmed with the approval, on the record."""
    journey = walk(Stage.AWAITING_MANAGER)
    with pytest.raises(RuleViolation, match="R-52") as refused:
        journey.decide(ApproveRequest(actor=MANAGER))
    assert refused.value.key == "approve.admins_equipped"
    events = journey.do(ApproveRequest(actor=MANAGER, admins_equipped=True))
    assert isinstance(events[0], ManagerApproved) and events[0].admins_equipped


def test_r52_an_account_has_publishers_beside_its_admins_appointed_by_the_manager(
        walk: Walk) -> None:
    """R-52 [004]: "administrator (minst to) og publisent"."""
    from domain.account import AppointPublisher, RecordPost, RemovePublisher

    journey = walk(Stage.ACTIVE)
    post = RecordPost(actor="pia.publ", post_id="p-1", published_at=journey.now)
    with pytest.raises(NotAuthorised):
        journey.decide(post)
    with pytest.raises(NotAuthorised, match="R-01, R-13"):
        journey.decide(AppointPublisher(actor=COMMS[0], person="pia.publ"))
    journey.do(AppointPublisher(actor=MANAGER, person="pia.publ"))
    assert journey.current.publishers == ["pia.publ"]
    assert journey.do(post)
    journey.do(RemovePublisher(actor=MANAGER, person="pia.publ"))
    with pytest.raises(NotAuthorised):
        journey.decide(post.model_copy(update={"post_id": "p-2"}))
    # Publishers do not count as admins: coverage is unchanged.
    assert journey.current.admins_with_two_factor == 2
