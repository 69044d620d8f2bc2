"""The lifecycle's rules, one function per command, as the guideline reads:
request, approval (R-01, R-13), risk assessment (R-04), sign-off (R-03,
R-05, R-08..R-11), activation (R-12, R-07), admins and publishers (R-12,
R-13, R-52), closure (R-19, R-38), settings and profile (R-37, R-43)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.account.commands import (
    ActivateAccount,
    AddAdmin,
    AmendRequest,
    AppointPublisher,
    ApproveRequest,
    ChangeMessageSettings,
    ConfirmTwoFactor,
    RecordFinalSnapshot,
    RecordProfileChange,
    RecordRiskAssessment,
    RejectRequest,
    RemoveAdmin,
    RemovePublisher,
    RequestAccount,
    RequestClosure,
    SignOff,
    UpdateAuthorities,
)
from domain.account.events import (
    AccountActivated,
    AccountClosed,
    AccountEvent,
    AccountRequested,
    AdminAdded,
    AdminCoverageLost,
    AdminCoverageRestored,
    AdminRemoved,
    AdminTwoFactorConfirmed,
    AuthoritiesUpdated,
    ClosureRequested,
    FinalSnapshotArchived,
    ListedInRegister,
    ManagerApproved,
    MessageSettingsChanged,
    ProfileChanged,
    PublisherAppointed,
    PublisherRemoved,
    RemovedFromRegister,
    RequestAmended,
    RequestRejected,
    RiskAssessmentRecorded,
    SentBackForChanges,
    SignOffApproved,
)
from domain.account.evolution import evolve
from domain.account.plans import final_package_receivers
from domain.account.state import AccountState, account_slug
from domain.account.values import Admin, RiskAssessment, SignOffDecision, Stage
from domain.core import (
    NotAuthorised,
    RuleViolation,
    WrongStage,
)


def _require_stage(state: AccountState, *stages: Stage) -> None:
    if state.stage not in stages:
        wanted = " or ".join(s.value for s in stages)
        raise WrongStage(f"the account is {state.stage.value}, not {wanted}",
                         key="account.wrong_stage", params={"stage": state.stage.value})


def _require_manager(state: AccountState, actor: str, what: str) -> None:
    if not state.authorities.is_manager(actor):
        raise NotAuthorised(
            f"only the unit's manager or deputy may {what} (R-01, R-13); {actor} is neither",
            key="account.manager_only",
        )


def _require_communications(state: AccountState, actor: str, what: str) -> None:
    if not state.authorities.is_communications(actor):
        raise NotAuthorised(
            f"only the communications unit may {what} (R-03); {actor} is not a member",
            key="account.communications_only",
        )


def approver_role(state: AccountState, actor: str) -> str:
    """R-01, R-53: who approves a request, and as what. The unit's manager
    or the deputy (the directory's named stand-in, docs/decisions.md) decide;
    no one decides on their own request: the manager's own goes to the next
    level above the manager, the deputy's own to the manager."""
    a = state.authorities
    if actor == state.requester:
        raise NotAuthorised(
            f"{actor} made this request: no one decides on their own request; the manager "
            "or deputy decides (R-01, R-53)",
            key="approve.own_request")
    if state.requester == a.manager:
        if a.next_level is not None and actor == a.next_level:
            return "next_level"
        raise NotAuthorised(
            "the manager's own request is decided at the next level (R-53)"
            + (f": {a.next_level}" if a.next_level else "; the directory names none yet"),
            key="approve.next_level", params={"person": a.next_level or "-"})
    if actor == a.manager:
        return "manager"
    if a.deputy is not None and actor == a.deputy:
        return "deputy"
    raise NotAuthorised(
        f"only the unit's manager or deputy may approve the account (R-01, R-13); {actor} is "
        "neither", key="account.manager_only")


def _require_signer(state: AccountState, actor: str) -> bool:
    """R-03, R-48, R-53: who signs a new account off. The communications
    unit approves (the stricter value), or, where a new page only informs it
    (`new_page: inform`, Kristiansand), the unit's manager may, and the
    communications unit is informed (True). No one on their own request."""
    if state.legacy_rules:
        _require_communications(state, actor, "sign off a new account")
        return False
    if actor == state.requester:
        raise NotAuthorised(
            f"{actor} made this request: a colleague signs it off (R-03, R-53)",
            key="signoff.own_request")
    if state.authorities.is_communications(actor):
        return False
    if state.policy.new_page == "inform" and state.authorities.is_manager(actor):
        return True
    _require_communications(state, actor, "sign off a new account")
    return False


def _coverage_events(state: AccountState, after: AccountState, at: datetime,
                     actor: str) -> list[AccountEvent]:
    """R-12: losing or regaining two admins with 2FA is itself on the record."""
    if after.stage is not Stage.ACTIVE:
        return []
    covered = after.admins_with_two_factor >= 2
    if not covered and after.coverage_lost_at is None:
        return [AdminCoverageLost(at=at, actor=actor,
                                  admins_with_two_factor=after.admins_with_two_factor)]
    if covered and after.coverage_lost_at is not None:
        return [AdminCoverageRestored(at=at, actor=actor)]
    return []


def _with_coverage(state: AccountState, events: list[AccountEvent], now: datetime,
                   actor: str) -> list[AccountEvent]:
    """R-12: the admin events, followed by a change of the 2FA coverage they cause."""
    after = state
    for event in events:
        after = evolve(after, event)
    return events + _coverage_events(state, after, now, actor)


def request_account(state: AccountState | None, command: RequestAccount, now: datetime
                    ) -> list[AccountEvent]:
    """R-02: a unit requests an account through the intranet form; a main account is the
    communications unit's (R-49)."""
    actor = command.actor
    if state is not None:
        raise WrongStage("this account has already been requested",
                         key="account.already_requested")
    if (command.request.unit_id != command.authorities.unit_id
            or command.municipality_id != command.authorities.municipality_id):
        raise RuleViolation("the authorities given are not those of the requesting unit",
                            key="request.authorities_unit")
    if (command.request.main_account
            and command.request.unit_id != command.authorities.communications_unit):
        raise RuleViolation(
            "a municipality-wide main account is owned by the communications unit, which "
            "bears its editorial responsibility (R-49)", key="request.main_account_unit")
    return [AccountRequested(
        at=now, actor=actor, account_id=command.account_id,
        municipality_id=command.municipality_id,
        slug=account_slug(command.request.account_name, command.request.platform),
        country=command.country, timezone=command.timezone, request=command.request,
        authorities=command.authorities, policy=command.policy,
    )]


def approve_request(state: AccountState, command: ApproveRequest,
                    now: datetime) -> list[AccountEvent]:
    """R-01, R-13, R-52: the unit's manager (or deputy) approves, appointing the admins and
    confirming they are equipped."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_MANAGER)
    if state.legacy_rules:
        _require_manager(state, actor, "approve the account")
        return [ManagerApproved(at=now, actor=actor, comment=command.comment)]
    role = approver_role(state, actor)
    if not command.admins_equipped:
        raise RuleViolation(
            "confirm that the appointed admins have working time, resources and "
            "knowledge for the account (R-52)", key="approve.admins_equipped")
    return [ManagerApproved(at=now, actor=actor, comment=command.comment,
                            approved_as=role, admins_equipped=True,
                            admins=list(state.request.proposed_admins),
                            terms_delegate=command.terms_delegate)]


def reject_request(state: AccountState, command: RejectRequest,
                   now: datetime) -> list[AccountEvent]:
    """R-01, R-03: the manager rejects a request awaiting approval; later, the manager or the
    communications unit."""
    actor = command.actor
    if state.stage is Stage.AWAITING_MANAGER:
        _require_manager(state, actor, "reject the request")
    else:
        _require_stage(state, Stage.AWAITING_SIGNOFF, Stage.AMENDING,
                       Stage.RISK_ASSESSMENT, Stage.AWAITING_ACTIVATION)
        if not (state.authorities.is_manager(actor)
                or state.authorities.is_communications(actor)):
            raise NotAuthorised(
                f"{actor} may not reject: only the manager (R-01) or the "
                "communications unit (R-03)", key="account.reject_who"
            )
    return [RequestRejected(at=now, actor=actor, stage=state.stage,
                            reason=command.reason)]


def record_risk_assessment(state: AccountState, command: RecordRiskAssessment,
                           now: datetime) -> list[AccountEvent]:
    """R-04: the requester, a proposed admin or the manager records the ROS or the DPIA, never
    dated ahead."""
    actor = command.actor
    _require_stage(state, Stage.RISK_ASSESSMENT)
    allowed = {state.requester, *state.request.proposed_admins}
    if actor not in allowed and not state.authorities.is_manager(actor):
        raise NotAuthorised(
            f"{actor} may not record the unit's ROS or DPIA: the requester, the "
            "proposed admins or the manager may", key="risk.who"
        )
    if command.completed_on > now.astimezone(ZoneInfo(state.timezone)).date():
        raise RuleViolation("an assessment cannot be completed in the future (R-04)",
                            key="risk.future")
    return [RiskAssessmentRecorded(at=now, actor=actor, assessment=RiskAssessment(
        kind=command.kind, document_ref=command.document_ref,
        completed_on=command.completed_on, completed_by=command.completed_by,
        recorded_by=actor,
    ))]


def sign_off(state: AccountState, command: SignOff, now: datetime) -> list[AccountEvent]:
    """R-03, R-05, R-06, R-08..R-11: the communications unit approves with a complete checklist,
    sends back or rejects."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_SIGNOFF)
    informs = _require_signer(state, actor)
    if command.decision is SignOffDecision.APPROVE:
        gaps = command.checklist.gaps(
            state.authorities, terms_delegate=state.terms_delegate,
            routines=None if state.legacy_rules else state.request.routines,
            legacy=state.legacy_rules)
        if gaps:
            raise RuleViolation("cannot approve yet: " + "; ".join(g.text for g in gaps),
                                key="signoff.incomplete", parts=gaps)
        return [SignOffApproved(at=now, actor=actor, checklist=command.checklist,
                                comment=command.comment,
                                informed=sorted(state.authorities.communications)
                                if informs else [])]
    if not (command.comment or "").strip():
        raise RuleViolation("say what must change, or why the request is rejected",
                        key="signoff.comment")
    if command.decision is SignOffDecision.SEND_BACK:
        return [SentBackForChanges(at=now, actor=actor, checklist=command.checklist,
                                   comment=command.comment or "",
                                   platform_may_change=command.platform_may_change)]
    return [RequestRejected(at=now, actor=actor, stage=state.stage,
                            reason=command.comment or "")]


def amend_request(state: AccountState, command: AmendRequest, now: datetime) -> list[AccountEvent]:
    """R-01, R-03: the requester or the manager amends a request sent back; another platform is
    the manager's."""
    actor = command.actor
    _require_stage(state, Stage.AMENDING)
    if actor != state.requester and not state.authorities.is_manager(actor):
        raise NotAuthorised(f"{actor} may not amend: the requester or the manager may",
                            key="amend.who")
    platform_changes = command.request.platform != state.request.platform
    if (command.request.unit_id != state.request.unit_id
            or (platform_changes and (state.legacy_rules
                                      or not state.platform_may_change))):
        raise RuleViolation(
            "the unit and platform were decided by the manager (R-01); "
            "request a new account to change them", key="amend.unit_platform"
        )
    if platform_changes and not state.authorities.is_manager(actor):
        # sent back for another platform, the manager
        # decides the new one.
        raise NotAuthorised(
            "the communications unit asked for another platform: the unit's manager "
            "decides it (R-01, R-03)", key="amend.platform_by_manager")
    return [RequestAmended(at=now, actor=actor, request=command.request,
                           comment=command.comment)]


def activate_account(state: AccountState, command: ActivateAccount,
                     now: datetime) -> list[AccountEvent]:
    """R-12, R-13, R-07: the communications unit activates with appointed admins, each with 2FA,
    and lists the account."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_ACTIVATION)
    _require_communications(state, actor, "activate the account and list it")
    people = [a.person for a in command.admins]
    if len(set(people)) != len(people):
        raise RuleViolation("an admin is listed twice", key="activate.admin_twice")
    without = [a.person for a in command.admins if not a.two_factor]
    if without:
        raise RuleViolation(
            "R-12: every admin needs two-factor authentication confirmed; missing for "
            + ", ".join(without),
            key="activate.two_factor", params={"people": ", ".join(without)},
        )
    if not state.legacy_rules:
        appointed = set(state.approved_admins or state.request.proposed_admins)
        strangers = [p for p in people if p not in appointed]
        if strangers:
            raise RuleViolation(
                "R-13: the manager appoints the admins; not appointed: "
                + ", ".join(strangers) + " (the manager adds them after activation, "
                "or amends the request)",
                key="activate.not_appointed", params={"people": ", ".join(strangers)})
    return [
        AccountActivated(at=now, actor=actor, handle=command.handle, url=command.url,
                         admins=list(command.admins),
                         platform_account_id=command.platform_account_id),
        ListedInRegister(at=now, actor=actor),
    ]


def add_admin(state: AccountState, command: AddAdmin, now: datetime) -> list[AccountEvent]:
    """R-13: the manager appoints another admin (R-12: without 2FA, a deficiency chased)."""
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    events: list[AccountEvent]
    _require_manager(state, actor, "appoint an admin")
    if command.person in state.admins:
        raise RuleViolation(f"{command.person} is already an admin",
                            key="admin.already", params={"person": command.person})
    events = [AdminAdded(at=now, actor=actor,
                         admin=Admin(person=command.person,
                                     two_factor=command.two_factor))]
    return _with_coverage(state, events, now, actor)


def remove_admin(state: AccountState, command: RemoveAdmin, now: datetime) -> list[AccountEvent]:
    """R-13: the manager removes an admin (R-12: the 2FA coverage follows)."""
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    events: list[AccountEvent]
    _require_manager(state, actor, "remove an admin")
    if command.person not in state.admins:
        raise RuleViolation(f"{command.person} is not an admin",
                            key="admin.not_admin", params={"person": command.person})
    events = [AdminRemoved(at=now, actor=actor, person=command.person,
                           reason=command.reason)]
    return _with_coverage(state, events, now, actor)


def confirm_two_factor(state: AccountState, command: ConfirmTwoFactor,
                       now: datetime) -> list[AccountEvent]:
    """R-12: an admin confirms their own 2FA, or the communications unit does."""
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    events: list[AccountEvent]
    if actor != command.person and not state.authorities.is_communications(actor):
        raise NotAuthorised("an admin confirms their own 2FA, or the communications unit",
                            key="admin.two_factor_who")
    admin = state.admins.get(command.person)
    if admin is None:
        raise RuleViolation(f"{command.person} is not an admin",
                            key="admin.not_admin", params={"person": command.person})
    if admin.two_factor:
        raise RuleViolation(f"{command.person} already has 2FA confirmed",
                            key="admin.two_factor_already",
                            params={"person": command.person})
    events = [AdminTwoFactorConfirmed(at=now, actor=actor, person=command.person)]
    return _with_coverage(state, events, now, actor)


def appoint_publisher(state: AccountState, command: AppointPublisher,
                      now: datetime) -> list[AccountEvent]:
    """R-52: the manager appoints a publisher beside the admins."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
    _require_manager(state, actor, "appoint a publisher")
    if command.person in state.publishers or command.person in state.admins:
        raise RuleViolation(f"{command.person} already publishes on the account (R-52)",
                            key="publisher.already", params={"person": command.person})
    return [PublisherAppointed(at=now, actor=actor, person=command.person)]


def remove_publisher(state: AccountState, command: RemovePublisher,
                     now: datetime) -> list[AccountEvent]:
    """R-52: the manager removes a publisher."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
    _require_manager(state, actor, "remove a publisher")
    if command.person not in state.publishers:
        raise RuleViolation(f"{command.person} is not a publisher (R-52)",
                            key="publisher.not", params={"person": command.person})
    return [PublisherRemoved(at=now, actor=actor, person=command.person)]


def change_message_settings(state: AccountState, command: ChangeMessageSettings,
                            now: datetime) -> list[AccountEvent]:
    """R-43: the manager or the communications unit changes how messages are answered."""
    actor = command.actor
    _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
    if not (state.authorities.is_manager(actor)
            or state.authorities.is_communications(actor)):
        raise NotAuthorised(
            f"{actor} may not change how messages are answered: the manager (R-13) "
            "or the communications unit may", key="settings.messages_who"
        )
    if command.policy == state.message_policy:
        return []
    return [MessageSettingsChanged(at=now, actor=actor, policy=command.policy)]


def update_authorities(state: AccountState, command: UpdateAuthorities,
                       now: datetime) -> list[AccountEvent]:
    """The directory's people for the unit, as it names them now."""
    actor = command.actor
    if command.authorities == state.authorities:
        return []
    if command.authorities.unit_id != state.authorities.unit_id:
        raise RuleViolation("authorities of another unit", key="account.authorities_unit")
    return [AuthoritiesUpdated(at=now, actor=actor, authorities=command.authorities)]


def may_record_profile_change(state: AccountState, person: str) -> bool:
    """R-37: the account's admins watch its face, the communications unit
    keeps the list of channels; either records a change of it."""
    return person in state.admins or state.authorities.is_communications(person)


def snapshot_labels(event: AccountEvent, label: str, version: int) -> list[str]:
    """R-37: the labels a snapshot after `event` (recorded as `version` of
    the account's stream) is named by, to try in order. A change is named by
    its day (domain.snapshot.snapshot_key), so a retried or replayed start
    finds the snapshot it started; a further profile change on the same day
    is a change of its own and gets its own snapshot, named by its version."""
    if isinstance(event, ProfileChanged):
        return [label, f"{label}-v{version}"]
    return [label]


def record_profile_change(state: AccountState, command: RecordProfileChange,
                          now: datetime) -> list[AccountEvent]:
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    if not may_record_profile_change(state, actor):
        raise NotAuthorised(
            f"{actor} may not record a change of the account's profile: its admins or the "
            "communications unit may (R-37)", key="profile.who")
    if (command.platform_account_id is not None
            and command.platform_account_id != state.platform_account_id
            and not state.authorities.is_communications(actor)):
        raise NotAuthorised(
            "a new owner or platform account is recorded by the communications unit "
            "(R-03, R-37)", key="profile.owner_who")
    current: dict[str, str | None] = {
        "name": state.name, "handle": state.handle, "url": state.url,
        "about": state.profile_about, "platform_account_id": state.platform_account_id}
    given: dict[str, str | None] = {
        "name": command.name, "handle": command.handle, "url": command.url,
        "about": command.about, "platform_account_id": command.platform_account_id}
    changed = {k: v for k, v in given.items() if v is not None and v != current[k]}
    if not changed and not command.picture_changed:
        raise RuleViolation(
            "nothing changed: give the new name, handle, address, about text or owner, or "
            "say the profile picture changed (R-37)", key="profile.nothing")
    return [ProfileChanged(
        at=now, actor=actor, name=changed.get("name"), handle=changed.get("handle"),
        url=changed.get("url"), picture_changed=command.picture_changed,
        about=changed.get("about"), platform_account_id=changed.get("platform_account_id"),
        note=command.note or None, previous={k: current[k] for k in sorted(changed)})]


def request_closure(state: AccountState, command: RequestClosure,
                    now: datetime) -> list[AccountEvent]:
    """R-19: the manager or the communications unit closes an active account."""
    actor = command.actor
    _require_stage(state, Stage.ACTIVE)
    if not (state.authorities.is_manager(actor)
            or state.authorities.is_communications(actor)):
        raise NotAuthorised(
            f"{actor} may not close the account: the manager or the communications "
            "unit may (R-19)", key="closure.who"
        )
    return [ClosureRequested(at=now, actor=actor, reason=command.reason)]


def record_final_snapshot(state: AccountState, command: RecordFinalSnapshot,
                          now: datetime) -> list[AccountEvent]:
    """R-38: the final snapshot, handed to the registrars, then the account leaves the register
    and closes."""
    actor = command.actor
    _require_stage(state, Stage.CLOSING)
    receivers = sorted(state.authorities.registrars)
    if not state.legacy_rules:
        receivers = final_package_receivers(state)
        if not receivers:
            raise RuleViolation(
                "R-38: no registrar in the directory to hand the final package to; "
                "the closure waits until one is named", key="closure.no_registrar")
    return [
        FinalSnapshotArchived(at=now, actor=actor, package=command.package,
                              registrars=receivers),
        RemovedFromRegister(at=now, actor=actor),
        AccountClosed(at=now, actor=actor),
    ]
