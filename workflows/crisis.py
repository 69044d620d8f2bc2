"""CrisisWorkflow: one per municipality, long-lived; crisis mode (R-39) and
storm flags (R-40) on the record.

Workflow id: ``crisis:<municipality>`` (also its event stream).

Updates (each with a validator; a rejected one leaves no history):
    declare_crisis   crisis management switches the municipality or chosen units
    end_crisis       ... and back (the period's last digest is compiled first)
    load_settings    Kanalvakt's own: the directory's crisis settings and roles
Signals:
    storm_detected   the feeder saw a storm of criticism on an account (R-40)
Queries:
    state            the CrisisState

On a switch, the accounts and their open message cases are told
(`crisis_changed`) by an activity that finds them in the read models. While
in crisis mode a digest of questions and moods is compiled every
`digest_every` (a timer loop). A storm is flagged once, then cools down.
Continues as new when the history grows long, carrying its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows import search_attributes as sa

with workflow.unsafe.imports_passed_through():
    from activities.crisis import (
        CompileDigestInput,
        CrisisActivities,
        InformCrisisInput,
        InformCrisisResult,
    )
    from activities.records import RecordActivities, RecordEventsInput
    from domain import crisis as cr
    from domain.records import StoredEvent
    from workflows.crisis_models import CrisisResult, CrisisWorkflowInput, StormReport

SYSTEM_ACTOR = cr.SYSTEM

_SHORT = timedelta(seconds=30)
_INFORM = timedelta(minutes=10)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def _rejection(error: cr.CrisisError) -> ApplicationError:
    # details: the refusal's stable key and params, so a page can show it in
    # the reader's language (web/rule_texts.py); the message stays English.
    return ApplicationError(error.message, error.details(), type=error.code,
                            non_retryable=True)


@workflow.defn(failure_exception_types=[ApplicationError])
class CrisisWorkflow:
    @workflow.init
    def __init__(self, inp: CrisisWorkflowInput) -> None:
        # Decided here, so that an update in the first task is validated
        # against the loaded settings; run() writes these events first.
        self._state: cr.CrisisState | None = inp.state
        self._unwritten = cr.decide(self._state, cr.LoadSettings(
            actor=SYSTEM_ACTOR, settings=inp.settings), now=workflow.now())
        self._written_version = self._state.version if self._state else 0
        for event in self._unwritten:
            self._state = cr.evolve(self._state, event)
        self._storms: list[StormReport] = list(inp.pending_storms)
        self._lock = asyncio.Lock()

    @property
    def state_now(self) -> cr.CrisisState:
        assert self._state is not None  # decided in __init__
        return self._state

    @workflow.run
    async def run(self, inp: CrisisWorkflowInput) -> None:
        async with self._lock:
            if self._unwritten:
                await self._write(self._unwritten, expected_version=self._written_version)
                self._unwritten = []
            self._upsert_search_attributes()
        while True:
            async with self._lock:
                if await self._one_due_step():
                    continue
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(CrisisWorkflowInput(
                    settings=self.state_now.settings, state=self.state_now,
                    pending_storms=self._storms))
            await self._wait_for_change_or_wake()

    async def _wait_for_change_or_wake(self) -> None:
        version = self.state_now.version
        wake = cr.next_wake(self.state_now)  # later than now: _one_due_step did what was due
        try:
            await workflow.wait_condition(
                lambda: self.state_now.version != version or bool(self._storms),
                timeout=None if wake is None else wake - workflow.now())
        except TimeoutError:
            pass

    async def _one_due_step(self) -> bool:
        """Do the first thing due: a reported storm, a digest, a cool-down."""
        if self._storms:
            report = self._storms.pop(0)
            await self._apply(cr.FlagStorm(actor=SYSTEM_ACTOR, account_id=report.account_id,
                                           unit_id=report.unit_id, signal=report.signal))
            if self.state_now.storms.get(report.account_id) is not None:
                await self._inform(account_id=report.account_id)
            return True
        now = workflow.now()
        due = cr.next_digest_due(self.state_now)
        if due is not None and due <= now:
            await self._digest(until=due)
            return True
        cool = cr.next_cooldown_end(self.state_now)
        if cool is not None and cool <= now:
            cooled = await self._apply(cr.FireDue(actor=SYSTEM_ACTOR))
            for event in cooled:
                if isinstance(event, cr.StormCooledDown):
                    await self._inform(account_id=event.account_id)
            return True
        return False

    async def _digest(self, *, until: datetime) -> None:
        """R-39: the period's questions and moods for crisis management."""
        state = self.state_now
        mode = state.active
        assert mode is not None
        start, end = state.last_digest_end or mode.declared_at, until
        if end <= start:
            return
        digest: cr.CrisisDigest = await workflow.execute_activity_method(
            CrisisActivities.compile_digest,
            CompileDigestInput(crisis=mode, period_start=start, period_end=end,
                               recipients=sorted(state.settings.crisis_management)),
            start_to_close_timeout=_INFORM, retry_policy=_RETRY)
        await self._apply(cr.RecordDigest(actor=SYSTEM_ACTOR, digest=digest))

    async def _inform(self, *, account_id: str | None = None) -> InformCrisisResult:
        result: InformCrisisResult = await workflow.execute_activity_method(
            CrisisActivities.inform,
            InformCrisisInput(state=self.state_now, account_id=account_id,
                              cases=account_id is None),
            start_to_close_timeout=_INFORM, heartbeat_timeout=timedelta(minutes=2),
            retry_policy=_RETRY)
        return result

    # ------------------------------------------------------------------ recording

    def _decide(self, command: cr.Command) -> list[cr.CrisisEvent]:
        try:
            return cr.decide(self._state, command, now=workflow.now())
        except cr.CrisisError as error:
            raise _rejection(error) from None

    async def _apply(self, command: cr.Command) -> list[cr.CrisisEvent]:
        events = self._decide(command)
        await self._record(events)
        return events

    async def _record(self, events: Sequence[cr.CrisisEvent]) -> None:
        """The record leads: written first, then folded into the state."""
        if not events:
            return
        await self._write(events, expected_version=self.state_now.version)
        state = self.state_now
        for event in events:
            state = cr.evolve(state, event)
        self._state = state
        self._upsert_search_attributes()

    async def _write(self, events: Sequence[cr.CrisisEvent], *, expected_version: int) -> None:
        stream = workflow.info().workflow_id
        await workflow.execute_activity_method(
            RecordActivities.record_events,
            RecordEventsInput(stream_id=stream, expected_version=expected_version,
                              events=[StoredEvent.of(str(workflow.uuid4()), e) for e in events],
                              correlation_id=stream),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        for event in events:
            workflow.logger.info("recorded %s", event.type,
                                 extra={"municipality_id": self.state_now.municipality_id})

    def _upsert_search_attributes(self) -> None:
        workflow.upsert_search_attributes([
            sa.MUNICIPALITY.value_set(self.state_now.municipality_id),
            sa.CRISIS.value_set(self.state_now.active is not None),
            sa.STORM.value_set(bool(self.state_now.storms)),
        ])

    async def _ready(self) -> None:
        await workflow.wait_condition(lambda: not self._unwritten)

    def _check(self, command: cr.Command) -> None:
        try:
            cr.decide(self._state, command, now=workflow.now())
        except cr.CrisisError as error:
            raise _rejection(error) from None

    # ------------------------------------------------------------------ signals, queries

    @workflow.signal
    def storm_detected(self, report: StormReport) -> None:
        """R-40: flagged by the main loop, once per storm (the cool-down)."""
        self._storms.append(report)

    @workflow.query
    def state(self) -> cr.CrisisState:
        return self.state_now

    # ------------------------------------------------------------------ updates

    @workflow.update
    async def declare_crisis(self, command: cr.DeclareCrisis) -> CrisisResult:
        """R-39: crisis management switches; accounts and open cases follow."""
        await self._ready()
        async with self._lock:
            await self._apply(command)
            informed = await self._inform()
            return CrisisResult(state=self.state_now, informed=informed)

    @declare_crisis.validator
    def _validate_declare(self, command: cr.DeclareCrisis) -> None:
        self._check(command)

    @workflow.update
    async def end_crisis(self, command: cr.EndCrisis) -> CrisisResult:
        """R-39: back to the normal rules; the period's last digest first."""
        await self._ready()
        async with self._lock:
            self._decide(command)
            if self.state_now.active is not None:
                await self._digest(until=workflow.now())
            await self._apply(command)
            informed = await self._inform()
            return CrisisResult(state=self.state_now, informed=informed)

    @end_crisis.validator
    def _validate_end(self, command: cr.EndCrisis) -> None:
        self._check(command)

    @workflow.update
    async def load_settings(self, command: cr.LoadSettings) -> CrisisResult:
        """The directory's settings and roles, sent before a switch so that its
        validator decides on the directory as it is now."""
        await self._ready()
        async with self._lock:
            events = await self._apply(command)
            changed = any(isinstance(e, cr.CrisisApproversChanged) for e in events)
            if changed and workflow.patched("crisis-approvers-follow-directory"):
                # the accounts and open cases take the new approvers.
                informed = await self._inform()
                return CrisisResult(state=self.state_now, informed=informed)
            return CrisisResult(state=self.state_now)

    @load_settings.validator
    def _validate_settings(self, command: cr.LoadSettings) -> None:
        if command.actor != SYSTEM_ACTOR:
            raise ApplicationError("settings come from the directory", type="NotAuthorised",
                                   non_retryable=True)
        self._check(command)

