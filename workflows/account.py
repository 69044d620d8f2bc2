"""AccountLifecycleWorkflow: one official account, from request to closure.

Workflow id: ``account:<municipality>:<slug>`` (no personal data).

Updates (each with a validator; a rejected one leaves no history):
    approve, reject, record_risk_assessment, sign_off, amend, activate,
    add_admin, remove_admin, confirm_two_factor, change_message_settings,
    request_closure, record_profile_change (R-37: a major change, snapshotted),
    record_absence, cancel_absence (R-14: holiday cover),
    monitoring (R-15..R-20): record_check_in, record_post, keep_account,
    report_watch_item, resolve_watch_item, change_monitoring_settings
Signals:
    refresh_authorities   reload the unit's manager, deputy, communications
                          unit and registrars from the org directory
    crisis_changed        the crisis rules and storm flag that now apply (R-39, R-40),
                          from the municipality's CrisisWorkflow
    message_decision_taken  a moderation decision on one of the account's
                          messages: a check-in by that admin (R-15, R-16)
Queries:
    state                 the whole AccountState
    deadlines             the reminders, escalations and lapses still pending

Rules come from domain.account (decide/evolve); every event is written to the
event store by an activity before the state changes here; deadlines are
durable timers in working days.

R-37: an event that domain.snapshot calls a major change (activation, a
recorded profile change: name, handle, picture, about text, owner) recorded
on an active account starts a SnapshotWorkflow child (abandoned by its
parent, id from the change and its day, so a retry or a continued run never
starts a second one; a second profile change on one day gets its own,
named by its version: domain.account.snapshot_labels). R-39: on activation and when
a continued run starts, the crisis in force for the unit is read from the
crisis_modes read model (a crisis declared before the account existed was
told to no workflow of it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from workflows import search_attributes as sa

with workflow.unsafe.imports_passed_through():
    from activities.account import AccountActivities, FinalSnapshotInput, LoadAuthoritiesInput
    from activities.crisis import CoveringCrisisInput, CrisisActivities
    from activities.messages import InformAbsencesInput, InformAdminsInput, MessageActivities
    from activities.records import RecordActivities, RecordEventsInput
    from activities.snapshot_admins import InformSnapshotAdminsInput, SnapshotAdminActivities
    from domain import account as acc
    from domain import monitoring as mon
    from domain import snapshot as snap
    from domain.crisis_mode import CrisisStatus
    from domain.records import StoredEvent
    from workflows.models import (
        AccountWorkflowInput,
        AccountWorkflowResult,
        DeadlinesView,
        MessageDecisionTaken,
    )
    from workflows.snapshot_models import SnapshotInput, SnapshotResult

SYSTEM_ACTOR = "kanalvakt"

_RECORD_TIMEOUT = timedelta(seconds=30)
_SNAPSHOT_TIMEOUT = timedelta(minutes=10)
_INFORM_TIMEOUT = timedelta(minutes=5)
# Retried until they succeed (PostgreSQL may be down for a while); what cannot
# succeed is raised as a non-retryable ApplicationError by the activity.
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def _rejection(error: acc.DomainError) -> ApplicationError:
    # details: the refusal's stable key and params, so a page can show it in
    # the reader's language (web/rule_texts.py); the message stays English.
    return ApplicationError(error.message, error.details(), type=error.code,
                            non_retryable=True)


@workflow.defn(failure_exception_types=[ApplicationError])
class AccountLifecycleWorkflow:
    @workflow.init
    def __init__(self, inp: AccountWorkflowInput) -> None:
        self._state: acc.AccountState | None = inp.state
        self._refresh = inp.refresh_pending
        # The request is decided here, so an update arriving in the very first
        # task is validated against the requested account; handlers wait until
        # run() has written these events (expected version 0) before deciding.
        self._unwritten: list[acc.AccountEvent] = []
        self._start_refused: acc.DomainError | None = None
        if self._state is None and inp.start is not None:
            try:
                self._unwritten = acc.decide(None, inp.start, now=workflow.now())
                self._state = acc.fold(self._unwritten)
            except acc.DomainError as refused:
                self._start_refused = refused
        # Handlers interleave at every await; the lock makes decide -> record ->
        # evolve one step, so no decision is taken on a state about to change.
        self._lock = asyncio.Lock()
        # read the crisis in force when the account becomes active and
        # when a continued run starts; a crisis_changed signal arriving while
        # it is read is newer than what was read (counted here).
        self._crisis_read = inp.state is not None and inp.state.stage is acc.Stage.ACTIVE
        self._crisis_signals = 0
        self._crisis_signals_at_trigger = 0  # signals counted when the read was asked for

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: AccountWorkflowInput) -> AccountWorkflowResult:
        if self._start_refused is not None:
            raise _rejection(self._start_refused)
        if self._state is None:
            raise ApplicationError("neither a request nor a state", non_retryable=True)
        # Issue 16's rules (chains that never go silent, R-01/R-53 approval,
        # R-13 appointed admins, R-38 no registrar, ...): a run recorded
        # before them replays, and goes on, under the rules it was decided by;
        # its next run (continue-as-new) takes them.
        legacy = not workflow.patched("issue16-account-rules")
        # Issue 14: deadlines of N working days end at the office's closing
        # time. Read at the start of every run: a run recorded before keeps
        # its timers at the clock time of their start; its next run takes it.
        end_of_day = workflow.patched("usability_end_of_day")
        self._state = self._state.model_copy(update={"legacy_rules": legacy,
                                                     "end_of_day_deadlines": end_of_day})
        if self._unwritten:
            async with self._lock:
                await self._write(self._unwritten, expected_version=0)
                self._unwritten = []
                self._upsert_search_attributes()
        while not self.state_now.stage.terminal:
            if self.state_now.stage is acc.Stage.CLOSING:
                if not self.state_now.legacy_rules:
                    if self._refresh:
                        await self._refresh_authorities()
                        continue
                    if not acc.final_package_receivers(self.state_now):
                        # nobody to hand the final package to: the
                        # closure waits, escalated on the rhythm, until the
                        # directory names a registrar (refresh_authorities).
                        await self._wait_for_change_or_deadline()
                        continue
                await self._close()
                continue
            if self._crisis_read:
                await self._read_crisis()
                continue
            if self._refresh:
                await self._refresh_authorities()
                continue
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    AccountWorkflowInput(state=self.state_now, refresh_pending=self._refresh)
                )
            await self._wait_for_change_or_deadline()
        # Never return while an update handler is still writing (sdk-python#556).
        await workflow.wait_condition(workflow.all_handlers_finished)
        final = self.state_now
        return AccountWorkflowResult(account_id=final.account_id, stage=final.stage,
                                     version=final.version, final_package=final.final_package)

    async def _wait_for_change_or_deadline(self) -> None:
        version = self.state_now.version
        due = acc.next_deadline(self.state_now)
        if (workflow.patched("next-deadline-upserted-on-wait")
                and workflow.info().typed_search_attributes.get(sa.NEXT_DEADLINE) != due):
            # The plan changed without an event while the run was elsewhere
            # (a crisis_changed signal during an activity): the wait below
            # would begin on the new plan and never see it change.
            self._upsert_search_attributes()
        if due is not None and due <= workflow.now():
            await self._fire_due()
            return
        timeout = None if due is None else due - workflow.now()
        try:
            await workflow.wait_condition(
                # A crisis (R-39, signal crisis_changed) changes the plan without an event.
                lambda: self.state_now.version != version or self._refresh
                or acc.next_deadline(self.state_now) != due,
                timeout=timeout,
            )
        except TimeoutError:
            await self._fire_due()
            return
        if self.state_now.version == version and not self._refresh:
            self._upsert_search_attributes()  # KvNextDeadline follows the new plan

    async def _fire_due(self) -> None:
        await self._apply(acc.FireDueDeadlines(
            actor=SYSTEM_ACTOR,
            skip_superseded=workflow.patched("fire-skips-superseded-reminders")))

    async def _close(self) -> None:
        """R-38: capture before closing and hand the capture to the registrar.

        On a platform Kanalvakt cannot read, the final snapshot waits for its
        screenshots (or the communications unit's decision to package the
        record only), and so does the closure: the registrar gets the final
        picture, which cannot be taken once the account is gone
        (workflows/snapshot.py). The account stays CLOSING meanwhile."""
        state = self.state_now
        if workflow.patched("final-snapshot-pipeline"):
            # The same pipeline as every snapshot: capture, render,
            # package, diarium, delivery (workflows/snapshot.py).
            sid = f"snapshot:{state.municipality_id}:{state.slug}:final"
            taken: SnapshotResult = await workflow.execute_child_workflow(
                "SnapshotWorkflow", SnapshotInput(account_id=state.account_id, snapshot_id=sid,
                                                  reason=snap.SnapshotReason.FINAL),
                id=sid, result_type=SnapshotResult)
            await self._apply(acc.RecordFinalSnapshot(actor=SYSTEM_ACTOR, package=taken.package))
            return
        package = await workflow.execute_activity_method(
            AccountActivities.build_final_snapshot,
            FinalSnapshotInput(
                stream_id=_stream_id(state.account_id), account_id=state.account_id,
                municipality_id=state.municipality_id, workflow_id=workflow.info().workflow_id,
                taken_at=workflow.now(),
            ),
            start_to_close_timeout=_SNAPSHOT_TIMEOUT,
            retry_policy=_RETRY,
        )
        await self._apply(acc.RecordFinalSnapshot(actor=SYSTEM_ACTOR, package=package))

    async def _read_crisis(self) -> None:
        """R-39: the crisis that covers the unit now, applied as the
        crisis_changed signal applies it (the storm flag is kept)."""
        self._crisis_read = False
        if not workflow.patched("crisis-read-on-activation"):
            return  # runs recorded before this step replay without it
        state = self.state_now
        seen = self._crisis_signals
        if workflow.patched("crisis-read-signals-since-trigger"):
            # A signal that arrived after the read was asked for (at
            # activation), even before it began, is newer than the read
            # model it would read: the crisis workflow signals after writing.
            seen = self._crisis_signals_at_trigger
        found = await workflow.execute_activity_method(
            CrisisActivities.covering_mode,
            CoveringCrisisInput(municipality_id=state.municipality_id,
                                unit_id=state.request.unit_id),
            start_to_close_timeout=_RECORD_TIMEOUT, retry_policy=_RETRY)
        if self._crisis_signals != seen:
            return  # the crisis workflow told us meanwhile: its word is newer
        current = self.state_now.crisis
        if (current.mode if current else None) == found.mode:
            return
        self._set_crisis(CrisisStatus(mode=found.mode, storm=current.storm if current else None))
        workflow.logger.info("crisis read on start", extra={
            "crisis_id": found.mode.crisis_id if found.mode else None})

    async def _snapshot_major_changes(self, events: Sequence[acc.AccountEvent],
                                      first_version: int) -> None:
        """R-37: a snapshot after a major change of an active account, by the
        same pipeline as every snapshot. Its id comes from the change and its
        day, so replaying, retrying or continuing never starts a second one
        (REJECT_DUPLICATE; an existing one is fine). The child is abandoned:
        the account does not wait for it, nor stop it by closing."""
        state = self.state_now
        if state.stage is not acc.Stage.ACTIVE:
            return
        changes = [(event, label, first_version + n) for n, event in enumerate(events)
                   if (label := snap.major_change_reason(event.type)) is not None]
        if not changes or not workflow.patched("major-change-snapshot"):
            return
        for event, label, version in changes:
            # One label for most changes; a profile change tries its day's
            # name, then its own (a second change that day). Events recorded
            # before ProfileChanged existed take exactly the old single step.
            labels = acc.snapshot_labels(event, label, version)
            for n, name in enumerate(labels):
                key = snap.snapshot_key(snap.SnapshotReason.MAJOR_CHANGE,
                                        snap.local_date(event.at, state.timezone), label=name)
                sid = snap.snapshot_id(state.municipality_id, state.slug, key)
                try:
                    await workflow.start_child_workflow(
                        "SnapshotWorkflow",
                        SnapshotInput(account_id=state.account_id, snapshot_id=sid,
                                      reason=snap.SnapshotReason.MAJOR_CHANGE,
                                      change=event.type),
                        id=sid, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        parent_close_policy=workflow.ParentClosePolicy.ABANDON)
                except WorkflowAlreadyStartedError:
                    if n + 1 < len(labels):
                        continue
                    workflow.logger.info("snapshot after that change exists already",
                                         extra={"snapshot_id": sid})
                    break
                workflow.logger.info("snapshot after a major change started",
                                     extra={"snapshot_id": sid, "event_type": event.type})
                break

    async def _refresh_authorities(self) -> None:
        self._refresh = False
        state = self.state_now
        authorities = await workflow.execute_activity_method(
            AccountActivities.load_authorities,
            LoadAuthoritiesInput(municipality_id=state.municipality_id,
                                 unit_id=state.authorities.unit_id),
            start_to_close_timeout=_RECORD_TIMEOUT,
            retry_policy=_RETRY,
        )
        if authorities is None:
            workflow.logger.warning("unit no longer in the directory; authorities kept")
            return
        await self._apply(acc.UpdateAuthorities(actor=SYSTEM_ACTOR, authorities=authorities))

    # ------------------------------------------------------------------ recording

    @property
    def state_now(self) -> acc.AccountState:
        if self._state is None:
            raise ApplicationError("the account has not been requested", type="WrongStage",
                                   non_retryable=True)
        return self._state

    def _check(self, command: acc.Command) -> None:
        """Validator body: the same decision the handler will take, without
        recording anything. Raising here rejects the update with no history."""
        try:
            acc.decide(self._state, command, now=workflow.now())
        except acc.DomainError as error:
            raise _rejection(error) from None

    async def _apply(self, command: acc.Command) -> acc.AccountState:
        await workflow.wait_condition(lambda: not self._unwritten)
        async with self._lock:
            try:
                events = acc.decide(self._state, command, now=workflow.now())
            except acc.DomainError as error:
                # Decided again under the lock: another update may have changed
                # the state since this one's validator ran.
                raise _rejection(error) from None
            if events:
                await self._record(events)
            return self.state_now

    async def _record(self, events: Sequence[acc.AccountEvent]) -> None:
        """Write first, then change the state: the record leads."""
        await self._write(events, expected_version=self.state_now.version)
        state = self.state_now
        first_version = state.version + 1
        for event in events:
            state = acc.evolve(state, event)
        self._state = state
        self._upsert_search_attributes()
        if any(event.type == "AccountActivated" for event in events):
            self._crisis_read = True  # a crisis may have begun before the account
            self._crisis_signals_at_trigger = self._crisis_signals
        await self._snapshot_major_changes(events, first_version)
        await self._tell_admin_changes(events)
        await self._tell_absences(events)

    async def _tell_absences(self, events: Sequence[acc.AccountEvent]) -> None:
        """R-14: after an absence is recorded or ended, the account's open
        message cases get the absences and covers as they are now
        (`absences_changed`, recorded there as AbsencesUpdated), so an absent
        admin's reminders on them go to the cover. Only after these events,
        which no run recorded before R-14 holds: old runs replay unchanged."""
        if not any(isinstance(e, acc.AbsenceRecorded | acc.AbsenceCancelled) for e in events):
            return
        state = self.state_now
        await workflow.execute_activity_method(
            MessageActivities.inform_absences,
            InformAbsencesInput(account_id=state.account_id, absences=list(state.absences)),
            start_to_close_timeout=_INFORM_TIMEOUT, heartbeat_timeout=_RECORD_TIMEOUT,
            retry_policy=_RETRY)

    async def _tell_admin_changes(self, events: Sequence[acc.AccountEvent]) -> None:
        """R-12, R-13, R-22, R-37: after an admin is added or removed, the
        account's open message cases and its snapshots waiting for screenshots
        get the full admin list (`admins_changed`, recorded there as
        AdminsUpdated / SnapshotAdminsUpdated): a new admin decides on them at
        once, a removed one no longer does. Under the lock, so a later change
        is told after this one. Each step behind its own patch: runs recorded
        before it replay without it."""
        if not any(isinstance(e, acc.AdminAdded | acc.AdminRemoved) for e in events):
            return
        state = self.state_now
        # with no admin left, the manager steps in on the open cases.
        admins = sorted(state.admins) if state.legacy_rules else acc.case_answerers(state)
        if workflow.patched("admins-to-message-cases"):
            await workflow.execute_activity_method(
                MessageActivities.inform_admins,
                InformAdminsInput(account_id=state.account_id, admins=admins),
                start_to_close_timeout=_INFORM_TIMEOUT, heartbeat_timeout=_RECORD_TIMEOUT,
                retry_policy=_RETRY)
        if workflow.patched("admins-to-waiting-snapshots"):
            await workflow.execute_activity_method(
                SnapshotAdminActivities.inform,
                InformSnapshotAdminsInput(account_id=state.account_id, admins=admins),
                start_to_close_timeout=_INFORM_TIMEOUT, heartbeat_timeout=_RECORD_TIMEOUT,
                retry_policy=_RETRY)

    async def _write(self, events: Sequence[acc.AccountEvent], *, expected_version: int) -> None:
        account_id = self.state_now.account_id
        await workflow.execute_activity_method(
            RecordActivities.record_events,
            RecordEventsInput(
                stream_id=_stream_id(account_id), expected_version=expected_version,
                events=[StoredEvent.of(str(workflow.uuid4()), e) for e in events],
                correlation_id=workflow.info().workflow_id,
            ),
            start_to_close_timeout=_RECORD_TIMEOUT,
            retry_policy=_RETRY,
        )
        for event in events:
            workflow.logger.info("recorded %s", event.type,
                                 extra={"account_id": account_id, "event_type": event.type})

    def _upsert_search_attributes(self) -> None:
        state = self.state_now
        due = acc.next_deadline(state)
        updates: list[SearchAttributeUpdate] = [
            sa.MUNICIPALITY.value_set(state.municipality_id),
            sa.ACCOUNT.value_set(state.account_id),
            sa.UNIT.value_set(state.request.unit_id),
            sa.PLATFORM.value_set(state.request.platform.value),
            sa.STAGE.value_set(state.stage.value),
            sa.ESCALATED.value_set(acc.is_escalated(state)),
            sa.NEXT_DEADLINE.value_set(due) if due else sa.NEXT_DEADLINE.value_unset(),
        ]
        if state.monitoring.last_check_in is not None:
            updates.append(sa.LAST_CHECK_IN.value_set(state.monitoring.last_check_in))
        workflow.upsert_search_attributes(updates)

    # ------------------------------------------------------------------ signals, queries

    @workflow.signal
    def refresh_authorities(self) -> None:
        self._refresh = True

    @workflow.signal
    def crisis_changed(self, status: CrisisStatus) -> None:
        """R-39, R-40: the crisis workflow recorded the switch (or the storm flag)
        on the crisis stream; the account carries it and is found by it."""
        self._crisis_signals += 1
        self._set_crisis(status)

    def _set_crisis(self, status: CrisisStatus) -> None:
        if self._state is None:
            return
        self._state = self._state.model_copy(update={"crisis": status})
        workflow.upsert_search_attributes([sa.CRISIS.value_set(status.mode is not None),
                                           sa.STORM.value_set(status.storm is not None)])

    @workflow.signal
    async def message_decision_taken(self, taken: MessageDecisionTaken) -> None:
        """R-15, R-16: a moderation decision on one of the account's messages
        is a check-in by the admin who took it. Not an admin's (a case
        officer's draft, a registrar's registration), or not active: no
        check-in, and nothing to refuse, since a signal has no answer."""
        await workflow.wait_condition(lambda: not self._unwritten)
        async with self._lock:
            now = workflow.now()
            try:
                command = acc.RecordCheckIn(
                    actor=taken.actor, source=mon.CheckInSource.MODERATION,
                    case_id=taken.case_id, checked_at=min(taken.at, now))
                events = acc.decide(self._state, command, now=now)
            except (acc.DomainError, ValueError) as refused:  # ValueError: pydantic's
                workflow.logger.info("decision not counted as a check-in: %s", refused,
                                     extra={"case_id": taken.case_id})
                return
            if events:
                await self._record(events)

    @workflow.query
    def state(self) -> acc.AccountState:
        return self.state_now

    @workflow.query
    def deadlines(self) -> DeadlinesView:
        due = acc.next_deadline(self.state_now)
        return DeadlinesView(next_deadline=due.isoformat() if due else None,
                             pending=acc.pending_steps(self.state_now))

    # ------------------------------------------------------------------ updates

    @workflow.update
    async def approve(self, command: acc.ApproveRequest) -> acc.AccountState:
        return await self._apply(command)

    @approve.validator
    def _validate_approve(self, command: acc.ApproveRequest) -> None:
        self._check(command)

    @workflow.update
    async def reject(self, command: acc.RejectRequest) -> acc.AccountState:
        return await self._apply(command)

    @reject.validator
    def _validate_reject(self, command: acc.RejectRequest) -> None:
        self._check(command)

    @workflow.update
    async def record_risk_assessment(self, command: acc.RecordRiskAssessment) -> acc.AccountState:
        return await self._apply(command)

    @record_risk_assessment.validator
    def _validate_risk(self, command: acc.RecordRiskAssessment) -> None:
        self._check(command)

    @workflow.update
    async def sign_off(self, command: acc.SignOff) -> acc.AccountState:
        return await self._apply(command)

    @sign_off.validator
    def _validate_sign_off(self, command: acc.SignOff) -> None:
        self._check(command)

    @workflow.update
    async def amend(self, command: acc.AmendRequest) -> acc.AccountState:
        return await self._apply(command)

    @amend.validator
    def _validate_amend(self, command: acc.AmendRequest) -> None:
        self._check(command)

    @workflow.update
    async def activate(self, command: acc.ActivateAccount) -> acc.AccountState:
        return await self._apply(command)

    @activate.validator
    def _validate_activate(self, command: acc.ActivateAccount) -> None:
        self._check(command)

    @workflow.update
    async def add_admin(self, command: acc.AddAdmin) -> acc.AccountState:
        return await self._apply(command)

    @add_admin.validator
    def _validate_add_admin(self, command: acc.AddAdmin) -> None:
        self._check(command)

    @workflow.update
    async def remove_admin(self, command: acc.RemoveAdmin) -> acc.AccountState:
        return await self._apply(command)

    @remove_admin.validator
    def _validate_remove_admin(self, command: acc.RemoveAdmin) -> None:
        self._check(command)

    @workflow.update
    async def confirm_two_factor(self, command: acc.ConfirmTwoFactor) -> acc.AccountState:
        return await self._apply(command)

    @confirm_two_factor.validator
    def _validate_two_factor(self, command: acc.ConfirmTwoFactor) -> None:
        self._check(command)

    @workflow.update
    async def appoint_publisher(self, command: acc.AppointPublisher) -> acc.AccountState:
        """R-52: a publisher beside the admins, appointed by the manager."""
        return await self._apply(command)

    @appoint_publisher.validator
    def _validate_appoint_publisher(self, command: acc.AppointPublisher) -> None:
        self._check(command)

    @workflow.update
    async def remove_publisher(self, command: acc.RemovePublisher) -> acc.AccountState:
        return await self._apply(command)

    @remove_publisher.validator
    def _validate_remove_publisher(self, command: acc.RemovePublisher) -> None:
        self._check(command)

    @workflow.update
    async def change_message_settings(self, command: acc.ChangeMessageSettings
                                      ) -> acc.AccountState:
        return await self._apply(command)

    @change_message_settings.validator
    def _validate_message_settings(self, command: acc.ChangeMessageSettings) -> None:
        self._check(command)

    @workflow.update
    async def request_closure(self, command: acc.RequestClosure) -> acc.AccountState:
        return await self._apply(command)

    @request_closure.validator
    def _validate_closure(self, command: acc.RequestClosure) -> None:
        self._check(command)

    @workflow.update
    async def record_profile_change(self, command: acc.RecordProfileChange
                                    ) -> acc.AccountState:
        """R-37: the account's public face changed (by its admins or the
        communications unit); recording it starts a snapshot of the account."""
        return await self._apply(command)

    @record_profile_change.validator
    def _validate_profile_change(self, command: acc.RecordProfileChange) -> None:
        self._check(command)

    # ------------------------------------------------------------------ absences

    @workflow.update
    async def record_absence(self, command: acc.RecordAbsence) -> acc.AccountState:
        """R-14: an admin will be away; their cover is told meanwhile. The
        plan then holds the escalation for all admins away (its timer)."""
        return await self._apply(command)

    @record_absence.validator
    def _validate_absence(self, command: acc.RecordAbsence) -> None:
        self._check(command)

    @workflow.update
    async def cancel_absence(self, command: acc.CancelAbsence) -> acc.AccountState:
        """R-14: an absence called off, or ended now (back early)."""
        return await self._apply(command)

    @cancel_absence.validator
    def _validate_cancel_absence(self, command: acc.CancelAbsence) -> None:
        self._check(command)

    # ------------------------------------------------------------------ monitoring (R-15..R-20)

    @workflow.update
    async def record_check_in(self, command: acc.RecordCheckIn) -> acc.AccountState:
        """R-15, R-16: an admin checked the account."""
        return await self._apply(command)

    @record_check_in.validator
    def _validate_check_in(self, command: acc.RecordCheckIn) -> None:
        self._check(command)

    @workflow.update
    async def record_post(self, command: acc.RecordPost) -> acc.AccountState:
        """R-18: a published staff post, by an admin or a connector."""
        return await self._apply(command)

    @record_post.validator
    def _validate_post(self, command: acc.RecordPost) -> None:
        self._check(command)

    @workflow.update
    async def confirm_post(self, command: acc.ConfirmPost) -> acc.AccountState:
        """R-44: the manager, deputy or communications unit (never the writer)
        confirms a post held for confidential information."""
        return await self._apply(command)

    @confirm_post.validator
    def _validate_confirm_post(self, command: acc.ConfirmPost) -> None:
        self._check(command)

    @workflow.update
    async def send_back_post(self, command: acc.SendBackPost) -> acc.AccountState:
        """R-44: ... or sends it back to its writer, saying why."""
        return await self._apply(command)

    @send_back_post.validator
    def _validate_send_back_post(self, command: acc.SendBackPost) -> None:
        self._check(command)

    @workflow.update
    async def withdraw_consent(self, command: acc.WithdrawConsent) -> acc.AccountState:
        """R-41 (issue 14): a guardian's uploaded consent withdrawn or disposed
        of (the web app destroys its file after this is recorded); the
        admins are told to take the image down (the plan's
        `consent_take_down`). A new update: no recorded run holds it."""
        return await self._apply(command)

    @withdraw_consent.validator
    def _validate_withdraw_consent(self, command: acc.WithdrawConsent) -> None:
        self._check(command)

    @workflow.update
    async def keep_account(self, command: acc.KeepAccount) -> acc.AccountState:
        """R-19: the communications unit keeps an account proposed for closure."""
        return await self._apply(command)

    @keep_account.validator
    def _validate_keep(self, command: acc.KeepAccount) -> None:
        self._check(command)

    @workflow.update
    async def report_watch_item(self, command: acc.ReportWatchItem) -> acc.AccountState:
        """R-20: criticism or an error about the unit, for its manager."""
        return await self._apply(command)

    @report_watch_item.validator
    def _validate_watch_item(self, command: acc.ReportWatchItem) -> None:
        self._check(command)

    @workflow.update
    async def resolve_watch_item(self, command: acc.ResolveWatchItem) -> acc.AccountState:
        return await self._apply(command)

    @resolve_watch_item.validator
    def _validate_resolve(self, command: acc.ResolveWatchItem) -> None:
        self._check(command)

    @workflow.update
    async def change_monitoring_settings(self, command: acc.ChangeMonitoringSettings
                                         ) -> acc.AccountState:
        """R-43: the account's own monitoring settings."""
        return await self._apply(command)

    @change_monitoring_settings.validator
    def _validate_monitoring_settings(self, command: acc.ChangeMonitoringSettings) -> None:
        self._check(command)


def _stream_id(account_id: str) -> str:
    return f"account-{account_id}"
