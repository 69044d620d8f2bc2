"""InboundMessageWorkflow: one comment or private message, received until it
reaches an outcome the guidelines allow (R-22).

Workflow id: ``message:<platform>:<external id>`` (a redelivery is the same
case; no personal data).

Updates (each with a validator; a rejected one leaves no history):
    acknowledge, respond, hide, forward, submit_draft, register, redact, dispose,
    watch (R-46), close_case (R-22: the manager or the communications unit, with a reason;
    R-50: also an answered case left unregistered),
    confirm_manual_action (what a person did by hand on a platform without an API),
    attach_screenshot (R-30, R-45: the screenshot a deletion by hand asks for),
    approve_reply, send_back_reply (R-39: crisis management, where communication
    goes through it in a crisis: a reply, a removal and a forward then wait
    for its approval; R-47: the communications unit, which then publishes
    an admin's reply)
Signals:
    crisis_changed   R-39: the crisis rules that now cover the account (from the
                     municipality's CrisisWorkflow); recorded, deadlines recomputed
    admins_changed   R-12, R-13: the account's admins as they are now (the full
                     list, from the AccountLifecycleWorkflow after an admin was
                     added or removed); recorded as AdminsUpdated when changed
    absences_changed R-14: the admins' absences and covers as they are now (from
                     the AccountLifecycleWorkflow after one was recorded or ended);
                     recorded as AbsencesUpdated when changed
Queries:
    state        the MessageState (without the disposed content)

On receipt the text is screened (domain.screening); what the account's
policy hides at once (R-31: identity numbers) is captured (R-30) and hidden
before anyone looks. Deadlines run in office time (R-23) and remind, then
escalate to the unit's manager and the communications unit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError, FailureError

from workflows import search_attributes as sa

with workflow.unsafe.imports_passed_through():
    from activities.messages import (
        AllocateDiariumNumberInput,
        DisposeContentInput,
        MessageActivities,
        PlatformActionInput,
        PreserveCopyInput,
        StoreContentInput,
    )
    from activities.records import RecordActivities, RecordEventsInput
    from adapters.connectors.base import ActionResult, PlatformTarget
    from domain import message as msg
    from domain.account import DomainError
    from domain.cover import Absence
    from domain.crisis_mode import CrisisStatus
    from domain.records import StoredEvent
    from domain.redaction import RemovalCategory, rule_for
    from workflows.models import (
        AcknowledgeRequest,
        DecisionResult,
        MessageDecisionTaken,
        MessageWorkflowInput,
        MessageWorkflowResult,
        RedactRequest,
        RegisterRequest,
        RespondRequest,
    )

SYSTEM_ACTOR = msg.SYSTEM

_SHORT = timedelta(seconds=30)
_PLATFORM = timedelta(minutes=2)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# A reply is not idempotent on any platform: one attempt, then a person looks.
_ONCE = RetryPolicy(maximum_attempts=1)


def _rejection(error: DomainError) -> ApplicationError:
    # details: the refusal's stable key and params, so a page can show it in
    # the reader's language (web/rule_texts.py); the message stays English.
    return ApplicationError(error.message, error.details(), type=error.code,
                            non_retryable=True)


@workflow.defn(failure_exception_types=[ApplicationError])
class InboundMessageWorkflow:
    @workflow.init
    def __init__(self, inp: MessageWorkflowInput) -> None:
        # Decided at once so that an update in the first task is validated
        # against the received message; handlers wait until it is written.
        if inp.state is not None:  # continued as new: the case as it stood
            self._events: list[msg.MessageEvent] = []
            self._state: msg.MessageState = inp.state
        else:
            self._events = msg.decide(None, inp.receive, now=workflow.now())
            self._state = msg.evolve(None, self._events[0])
        self._written = inp.receipt_recorded or inp.state is not None
        self._prefix = inp.diarium_prefix
        self._account_case = inp.account_workflow_id
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: MessageWorkflowInput) -> MessageWorkflowResult:
        m = inp.receive.message
        # One marker for every rule patched in below: a run that records it
        # was begun (or continued) under all of them and asks for none of
        # their own markers, each of which was an event in every new case's
        # first task (issue 15: a storm's cost). A run recorded before it
        # finds no such marker and reads the rules' own as it recorded them.
        if not workflow.patched("message-rules-2026-12"):
            self._legacy_patches(inp)
        else:  # as every rule's own marker would have it in a new run
            self._state = self._state.model_copy(update={
                "records_chase": True, "approval_outlives_the_admin": True,
                "end_of_day_deadlines": True, "screenshot_rule": True})
        async with self._lock:
            if inp.state is not None:
                pass  # continued as new: receipt and hiding were done by an earlier run
            elif not inp.receipt_recorded:
                await workflow.execute_activity_method(
                    MessageActivities.store_content,
                    StoreContentInput(case_id=self._state.case_id, text=m.text,
                                      author_name=m.author_name, author_id=m.author_id,
                                      stored_at=workflow.now()),
                    start_to_close_timeout=_SHORT, retry_policy=_RETRY)
                await self._write(self._events, expected_version=0)
                self._written = True
                self._upsert_search_attributes()
            if self._state.auto_hide and inp.state is None:
                await self._hide_pending_review()
        while not self._state.done:
            if workflow.info().is_continue_as_new_suggested():
                # the chase of a case left for years outgrows one history.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(inp.model_copy(update={
                    "state": self._state, "receipt_recorded": True}))
            await self._wait_for_change_or_deadline()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return MessageWorkflowResult(case_id=self._state.case_id, stage=self._state.stage,
                                     version=self._state.version)

    async def _hide_pending_review(self) -> None:
        """R-31 (by the account's policy): captured, then hidden at once."""
        reasons = ", ".join(sorted({f.detail for f in self._state.flags
                                    if f.kind in self._state.policy.screening.auto_hide}))
        hidden = None
        if self._state.message.kind.value == "comment":
            await self._preserve_copy()
            hidden = await self._platform("hide")
        # Issue 9: a flag without a detail must not leave the reason empty
        # (refused by Hide, which wedged the case); such a flag is "screening".
        await self._decide_and_record(msg.Hide(actor=SYSTEM_ACTOR, reason=reasons or "screening",
                                               preserved_copy=True), hidden)

    async def _wait_for_change_or_deadline(self) -> None:
        version = self._state.version
        due = msg.next_deadline(self._state)
        if due is None or due > workflow.now():
            try:
                await workflow.wait_condition(
                    lambda: self._state.version != version,
                    timeout=None if due is None else due - workflow.now())
                return
            except TimeoutError:
                pass
        async with self._lock:
            fired = msg.decide(self._state, msg.FireDue(actor=SYSTEM_ACTOR), now=workflow.now())
            if any(isinstance(e, msg.MessageDisposed) for e in fired):
                # the content goes before the disposal is logged.
                await workflow.execute_activity_method(
                    MessageActivities.dispose_content,
                    DisposeContentInput(case_id=self._state.case_id),
                    start_to_close_timeout=_SHORT, retry_policy=_RETRY)
            if fired:
                await self._record(fired)

    # ------------------------------------------------------------------ recording

    def _check(self, command: msg.Command) -> None:
        if not self._written:
            return  # decided again in the handler, once the receipt is written
        try:
            msg.decide(self._state, command, now=workflow.now())
        except DomainError as error:
            raise _rejection(error) from None

    def _decide(self, command: msg.Command) -> list[msg.MessageEvent]:
        try:
            return msg.decide(self._state, command, now=workflow.now())
        except DomainError as error:
            raise _rejection(error) from None

    async def _decide_and_record(self, command: msg.Command,
                                 platform: ActionResult | None = None) -> None:
        """Record the decision and, where the platform has no API, that a
        person is to carry it out and confirm (ManualConnector)."""
        events = self._decide(command)
        if platform is not None and platform.status == "awaiting_person":
            after = self._state
            for event in events:
                after = msg.evolve(after, event)
            events += msg.decide(after, msg.RequestManualAction(
                actor=SYSTEM_ACTOR, action=platform.action, instruction=platform.detail,
                instruction_key=platform.detail_key, instruction_params=platform.detail_params),
                now=workflow.now())
        await self._record(events)
        await self._tell_account(command)

    async def _tell_account(self, command: msg.Command) -> None:
        """R-15, R-16: a person's decision on the case is a check-in on the
        account (its case decides whether it counts). Best effort: an account
        case that has ended does not hold up the message's."""
        if self._account_case is None or command.actor == SYSTEM_ACTOR:
            return
        try:
            await workflow.get_external_workflow_handle(self._account_case).signal(
                "message_decision_taken", MessageDecisionTaken(
                    actor=command.actor, at=workflow.now(), case_id=self._state.case_id,
                    decision=type(command).__name__))
        except FailureError as failed:
            workflow.logger.warning("account case not told of the decision: %s", failed,
                                    extra={"case_id": self._state.case_id})

    async def _record(self, events: Sequence[msg.MessageEvent]) -> None:
        if not events:
            return
        await self._write(events, expected_version=self._state.version)
        state = self._state
        for event in events:
            state = msg.evolve(state, event)
        self._state = state
        self._upsert_search_attributes()

    async def _write(self, events: Sequence[msg.MessageEvent], *, expected_version: int) -> None:
        await workflow.execute_activity_method(
            RecordActivities.record_events,
            RecordEventsInput(
                stream_id=self._state.case_id, expected_version=expected_version,
                events=[StoredEvent.of(str(workflow.uuid4()), msg.for_the_record(e))
                        for e in events],
                correlation_id=self._state.case_id),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        for event in events:
            workflow.logger.info("recorded %s", event.type,
                                 extra={"case_id": self._state.case_id,
                                        "account_id": self._state.account_id})

    def _upsert_search_attributes(self) -> None:
        s = self._state
        due = msg.next_deadline(s)
        updates: list[SearchAttributeUpdate] = [
            sa.MUNICIPALITY.value_set(s.municipality_id),
            sa.ACCOUNT.value_set(s.account_id),
            sa.PLATFORM.value_set(s.message.platform.value),
            sa.STAGE.value_set(s.stage.value),
            sa.ESCALATED.value_set(s.escalated),
            sa.NEXT_DEADLINE.value_set(due) if due else sa.NEXT_DEADLINE.value_unset(),
        ]
        if s.crisis_id is not None:  # R-39; only then, so earlier histories replay unchanged
            updates.append(sa.CRISIS.value_set(s.crisis is not None))
        workflow.upsert_search_attributes(updates)

    # ------------------------------------------------------------------ platform

    def _target(self) -> PlatformTarget:
        m = self._state.message
        return PlatformTarget(platform=m.platform.value, object_id=m.external_id,
                              kind=m.kind.value, account_ref=m.account_ref,
                              thread_id=m.thread_id or m.parent_id, author_id=m.author_id)

    async def _platform(self, action: str, text: str | None = None) -> ActionResult:
        result: ActionResult = await workflow.execute_activity_method(
            MessageActivities.platform_action,
            PlatformActionInput(target=self._target(), action=action, text=text,
                                idempotency_key=f"{self._state.case_id}:{self._state.version}"),
            start_to_close_timeout=_PLATFORM,
            retry_policy=_ONCE if action == "reply" else _RETRY)
        return result

    async def _preserve_copy(self) -> None:
        await workflow.execute_activity_method(
            MessageActivities.preserve_copy,
            PreserveCopyInput(case_id=self._state.case_id, target=self._target(),
                              now=workflow.now()),
            start_to_close_timeout=_PLATFORM, retry_policy=_RETRY)

    async def _diarium_number(self) -> str:
        number: str = await workflow.execute_activity_method(
            MessageActivities.allocate_diarium_number,
            AllocateDiariumNumberInput(case_id=self._state.case_id,
                                       municipality_id=self._state.municipality_id,
                                       prefix=self._prefix, year=workflow.now().year),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        return number

    async def _ready(self) -> None:
        await workflow.wait_condition(lambda: self._written)

    # ------------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> msg.MessageState:
        return self._state

    # ------------------------------------------------------------------ signals

    def _legacy_patches(self, inp: MessageWorkflowInput) -> None:
        """The rules of a run recorded before "message-rules-2026-12", each
        as its own marker says (a rule whose marker the run lacks is off)."""
        if inp.state is None and not workflow.patched("issue16-message-rules"):
            # Begun before issue 16: no chase, no citizen's clock while
            # forwarded, no outgoing screening, so the history replays.
            self._state = self._state.model_copy(update={"fidelity_rules": False})
        if not workflow.patched("issue16-crisis-messages"):
            # Begun before a removal and a forward went through crisis
            # management and the communications unit published.
            self._state = self._state.model_copy(update={"crisis_covers_all": False})
        # an answered case is chased until registered or disposed of.
        # Read at the start of every run: a run recorded before it replays
        # as it ended (at the answer); a run continued as new takes it then.
        self._state = self._state.model_copy(update={
            "records_chase": workflow.patched("issue16-records-chase"),
            # an approved removal or forward of an admin removed since.
            "approval_outlives_the_admin": workflow.patched("approval-outlives-the-admin"),
            # Issue 14: deadlines of N working days end at the office's closing time.
            "end_of_day_deadlines": workflow.patched("usability_end_of_day"),
            # R-30, R-45 (issue 14): a deletion by hand is confirmed once its
            # screenshot is uploaded; a run recorded before confirms as it did.
            "screenshot_rule": workflow.patched("uploads14_screenshot_before_delete")})

    @workflow.signal
    async def crisis_changed(self, status: CrisisStatus) -> None:
        """R-39: a crisis began or ended for the account; recorded on the case,
        whose deadline loop then wakes on the new version."""
        await self._ready()
        async with self._lock:
            await self._record(self._decide(msg.ApplyCrisis(actor=SYSTEM_ACTOR,
                                                            crisis=status.mode)))

    @workflow.signal
    async def admins_changed(self, admins: list[str]) -> None:
        """R-12, R-13, R-22: the account's manager added or removed an admin;
        from now on the full list `admins` decides on the case. The same list
        again, or a case already done, records nothing. A signal has no
        answer: a list the domain refuses is logged, never fails the case."""
        await self._ready()
        async with self._lock:
            try:
                events = msg.decide(self._state, msg.UpdateAdmins(
                    actor=SYSTEM_ACTOR, admins=frozenset(admins)), now=workflow.now())
            except (DomainError, ValueError) as refused:  # ValueError: pydantic's
                workflow.logger.warning("admins not applied: %s", refused,
                                        extra={"case_id": self._state.case_id})
                return
            await self._record(events)

    @workflow.signal
    async def absences_changed(self, absences: list[Absence]) -> None:
        """R-14: an absence of one of the account's admins was recorded or
        ended; from now on an absent admin's reminders and escalations go to
        their cover. The same list again, or a case already done, records
        nothing; a list the domain refuses is logged, never fails the case."""
        await self._ready()
        async with self._lock:
            try:
                events = msg.decide(self._state, msg.UpdateAbsences(
                    actor=SYSTEM_ACTOR, absences=absences), now=workflow.now())
            except (DomainError, ValueError) as refused:  # ValueError: pydantic's
                workflow.logger.warning("absences not applied: %s", refused,
                                        extra={"case_id": self._state.case_id})
                return
            await self._record(events)

    # ------------------------------------------------------------------ updates

    @workflow.update
    async def acknowledge(self, request: AcknowledgeRequest) -> DecisionResult:
        """R-23: a holding reply; the case stays open with its own deadline."""
        await self._ready()
        async with self._lock:
            command = msg.Acknowledge(actor=request.actor, text=request.text)
            if isinstance(self._decide(command)[0], msg.ReplySubmittedForApproval):
                return await self._submit_for_approval(command)
            sent = await self._platform("reply", request.text)
            await self._decide_and_record(msg.Acknowledge(
                actor=request.actor, text=request.text, reply_id=sent.platform_object_id), sent)
            return DecisionResult(state=self._state, platform=sent)

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        self._check(msg.Acknowledge(actor=request.actor, text=request.text))

    @workflow.update
    async def respond(self, request: RespondRequest) -> DecisionResult:
        """R-23, R-26, R-27: the answer, signed where the account says so."""
        await self._ready()
        async with self._lock:
            command = msg.Respond(actor=request.actor, text=request.text, signed=request.signed,
                                  signature=request.signature, correction=request.correction)
            answered = self._decide(command)[0]
            if isinstance(answered, msg.ReplySubmittedForApproval):
                return await self._submit_for_approval(command)
            assert isinstance(answered, msg.MessageAnswered)
            text = request.text + (f"\n{answered.signature}" if answered.signature else "")
            sent = await self._platform("reply", text)
            await self._decide_and_record(command.model_copy(
                update={"reply_id": sent.platform_object_id}), sent)
            return DecisionResult(state=self._state, platform=sent)

    @respond.validator
    def _validate_respond(self, request: RespondRequest) -> None:
        self._check(msg.Respond(actor=request.actor, text=request.text, signed=request.signed,
                                signature=request.signature, correction=request.correction))

    async def _submit_for_approval(self, command: msg.Command) -> DecisionResult:
        """R-39 (Kristiansand): nothing is published; the reply waits for
        crisis management (approve_reply, send_back_reply)."""
        await self._decide_and_record(command)
        return DecisionResult(state=self._state)

    @workflow.update
    async def approve_reply(self, command: msg.ApproveReply) -> DecisionResult:
        """R-39: crisis management approves the waiting reply, which is then
        published through the connector as the admin's answer."""
        await self._ready()
        async with self._lock:
            decided = self._decide(command)
            if isinstance(decided[-1], msg.ReplySubmittedForApproval):
                # R-44 confirmed; R-39: on to crisis management, nothing posted yet.
                return await self._submit_for_approval(command)
            pending = self._state.pending_reply
            assert pending is not None  # the validator and _decide required it
            if pending.removal is not None:
                # the removal crisis management approved, carried out now.
                if pending.removal.preserved_copy:
                    await self._preserve_copy()
                public = self._state.message.kind.value == "comment"
                result = await self._platform("delete") if public else None
                await self._decide_and_record(command, result)
                return DecisionResult(state=self._state, platform=result)
            if pending.hide is not None:
                # the hide crisis management approved, carried out now.
                if pending.hide.preserved_copy:
                    await self._preserve_copy()
                public = self._state.message.kind.value == "comment"
                result = await self._platform("hide") if public else None
                await self._decide_and_record(command, result)
                return DecisionResult(state=self._state, platform=result)
            if pending.forward is not None:  # the approved forward
                await self._decide_and_record(command)
                return DecisionResult(state=self._state)
            sent = await self._platform("reply", pending.published_text)
            await self._decide_and_record(command.model_copy(
                update={"reply_id": sent.platform_object_id}), sent)
            return DecisionResult(state=self._state, platform=sent)

    @approve_reply.validator
    def _validate_approve_reply(self, command: msg.ApproveReply) -> None:
        self._check(command)

    @workflow.update
    async def send_back_reply(self, command: msg.SendBackReply) -> DecisionResult:
        """R-39: crisis management sends the reply back with a comment."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @send_back_reply.validator
    def _validate_send_back_reply(self, command: msg.SendBackReply) -> None:
        self._check(command)

    @workflow.update
    async def hide(self, command: msg.Hide) -> DecisionResult:
        """R-29, R-30: an admin hides the message pending a decision, a copy
        kept first; R-39: in a crisis where communication goes through crisis
        management it waits for its approval, unless it hides confidential
        data (R-31)."""
        await self._ready()
        async with self._lock:
            if isinstance(self._decide(command)[0], msg.ReplySubmittedForApproval):
                return await self._submit_for_approval(command)
            if command.preserved_copy:
                await self._preserve_copy()
            public = self._state.message.kind.value == "comment"
            result = await self._platform("hide") if public else None
            await self._decide_and_record(command, result)
            return DecisionResult(state=self._state, platform=result)

    @hide.validator
    def _validate_hide(self, command: msg.Hide) -> None:
        self._check(command)

    @workflow.update
    async def forward(self, command: msg.Forward) -> DecisionResult:
        """R-24, R-25: to a case officer, who drafts the answer."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @forward.validator
    def _validate_forward(self, command: msg.Forward) -> None:
        self._check(command)

    @workflow.update
    async def submit_draft(self, command: msg.SubmitDraft) -> DecisionResult:
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @submit_draft.validator
    def _validate_submit_draft(self, command: msg.SubmitDraft) -> None:
        self._check(command)

    @workflow.update
    async def register(self, request: RegisterRequest) -> DecisionResult:
        """R-28: a number from the municipality's diarium series."""
        await self._ready()
        async with self._lock:
            self._decide(msg.Register(actor=request.actor, diarium_number="pending",
                                      record_class=request.record_class,
                                      confidential=request.confidential))
            number = await self._diarium_number()
            await self._decide_and_record(msg.Register(
                actor=request.actor, diarium_number=number, record_class=request.record_class,
                confidential=request.confidential))
            return DecisionResult(state=self._state)

    @register.validator
    def _validate_register(self, request: RegisterRequest) -> None:
        self._check(msg.Register(actor=request.actor, diarium_number="pending",
                                 record_class=request.record_class,
                                 confidential=request.confidential))

    @workflow.update
    async def redact(self, request: RedactRequest) -> DecisionResult:
        """R-29..R-34: unpublish with the category and its law; a preserved
        copy first (not for advertising, R-32); confidential content is
        registered before it is deleted (R-31)."""
        await self._ready()
        async with self._lock:
            rule = rule_for(request.category)
            command = self._redact_command(request)
            registers = (rule.register_before_delete or command.keep
                         or msg.screening_found_confidential(self._state))
            if registers and self._state.diarium_number is None:
                self._decide(msg.Register(actor=request.actor, diarium_number="pending",
                                          record_class="Sekretess", confidential=True))
                number = await self._diarium_number()
                await self._decide_and_record(msg.Register(
                    actor=request.actor, diarium_number=number, record_class=rule.record_class,
                    confidential=(rule.register_before_delete
                                  or msg.screening_found_confidential(self._state))))
            public = self._state.message.kind.value == "comment"
            if isinstance(self._decide(command)[0], msg.ReplySubmittedForApproval):
                # nothing removed yet; it waits for crisis management.
                return await self._submit_for_approval(command)
            if command.preserved_copy:
                await self._preserve_copy()
            result = await self._platform("delete") if public else None
            await self._decide_and_record(command, result)
            return DecisionResult(state=self._state, platform=result)

    @redact.validator
    def _validate_redact(self, request: RedactRequest) -> None:
        if not self._written:
            return
        command = self._redact_command(request)
        try:
            msg.decide(self._state, command, now=workflow.now())
        except DomainError as error:
            if error.key == "redact.register_first":
                # Registered first by the handler; the rest is checked as if so.
                registered = self._state.model_copy(update={"diarium_number": "pending"})
                try:
                    msg.decide(registered, command, now=workflow.now())
                except DomainError as other:
                    raise _rejection(other) from None
                return
            raise _rejection(error) from None

    def _redact_command(self, request: RedactRequest) -> msg.Redact:
        """R-29: the category's law; R-30/R-45: a copy first (advertising too
        where the municipality keeps one, else not, R-32); R-33: advertising
        under its disposal decision."""
        rule = rule_for(request.category)
        s = self._state
        law = rule.law_se if s.country.value == "SE" else rule.law_no
        advertising = request.category is RemovalCategory.ADVERTISING
        keep = rule.keep_copy or (advertising and s.fidelity_rules
                                  and s.policy.copy_before_every_deletion)
        decision = request.decision_id or (s.policy.advertising_disposal_decision
                                           if advertising and s.fidelity_rules else None)
        public = s.message.kind.value == "comment"
        return msg.Redact(actor=request.actor, category=request.category, law=law,
                          reason=request.reason, preserved_copy=keep,
                          action="delete" if public else "hide", decision_id=decision,
                          keep=request.keep)

    @workflow.update
    async def dispose(self, command: msg.Dispose) -> DecisionResult:
        """R-33, R-35: trivial, under a disposal decision; kept until its date."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @dispose.validator
    def _validate_dispose(self, command: msg.Dispose) -> None:
        self._check(command)

    @workflow.update
    async def watch(self, command: msg.Watch) -> DecisionResult:
        """R-46: watched, no reply needed, where the municipality allows it."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @watch.validator
    def _validate_watch(self, command: msg.Watch) -> None:
        self._check(command)

    @workflow.update
    async def close_case(self, command: msg.CloseCase) -> DecisionResult:
        """R-22: the manager or the communications unit closes a case no one
        acted on, saying why; the chase ends."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @close_case.validator
    def _validate_close_case(self, command: msg.CloseCase) -> None:
        self._check(command)

    @workflow.update
    async def confirm_manual_action(self, command: msg.ConfirmManualAction) -> DecisionResult:
        """An admin confirms that the reply, hide or delete was done by hand
        on a platform without an API."""
        await self._ready()
        async with self._lock:
            await self._decide_and_record(command)
            return DecisionResult(state=self._state)

    @confirm_manual_action.validator
    def _validate_confirm(self, command: msg.ConfirmManualAction) -> None:
        self._check(command)

    @workflow.update
    async def attach_screenshot(self, command: msg.AttachScreenshot) -> DecisionResult:
        """R-30, R-45: the screenshot a deletion by hand asks for, uploaded
        (its bytes are already in PostgreSQL; the case records its digest)."""
        await self._ready()
        async with self._lock:
            await self._record(self._decide(command))
            return DecisionResult(state=self._state)

    @attach_screenshot.validator
    def _validate_attach_screenshot(self, command: msg.AttachScreenshot) -> None:
        self._check(command)
