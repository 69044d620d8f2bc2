"""Snapshots of official accounts (R-37, R-38).

SnapshotWorkflow, id ``snapshot:<municipality>:<slug>:<date or reason>`` (no
personal data): one snapshot of one account, started by the municipality's
fan-out (scheduled), by a person or a major change (on demand), or as a
child of AccountLifecycleWorkflow before closure (final). Steps, each an
idempotent activity retried until it succeeds:

    load account -> diarium number -> capture -> render (HTML, PDF, PNG)
    -> package (BagIt + METS) -> deliver -> record SnapshotTaken,
    SnapshotRegistered, SnapshotDelivered on the snapshot's stream

R-37, R-38 - a platform Kanalvakt cannot read (a manual platform: the
snapshot is made from screenshots uploaded by staff) with no screenshots
uploaded: the snapshot does not package at once. It records
SnapshotScreenshotsRequested (the account's admins are notified) and waits,
with durable timers in working days from the municipality's snapshot
settings (domain.snapshot.screenshot_wait_plan): a reminder to the admins,
escalation to the unit's manager and deputy, then to the communications
unit. It goes on when

    screenshots_done            (Update) an admin of the account or the
                                communications unit says the screenshots are
                                uploaded; refused while none is
    package_without_screenshots (Update) the communications unit decides to
                                package the record only, with a reason on the
                                record (never silently)

    admins_changed              (Signal) the account's admins after one was added
                                or removed (R-12, R-13): recorded as
                                SnapshotAdminsUpdated, they decide from then on

and then captures, renders, packages and delivers as any snapshot. Query:
``screenshot_wait`` (the wait, or None). KvNextDeadline and KvEscalated
follow the wait. The closure's final snapshot (a child of
AccountLifecycleWorkflow) takes the same path, so a closure of such an
account waits for its screenshots: R-38 hands the registrar the final
picture of the account, and an account closed first can no longer be
photographed. The wait is new behaviour guarded by
``workflow.patched("manual-snapshot-waits")``: runs started before it
package the record only as they always did.

The stream id is the snapshot id: the account's own stream is written only
by its workflow (optimistic concurrency), so the closure records the
package on it as FinalSnapshotArchived while the snapshots read model joins
both by account.

SnapshotFanOutWorkflow: started by the Temporal Schedule ``snapshots:<municipality>``
on the policy's nominal dates; moves to the allowed day (R-37: off July,
Christmas, weekends and holidays), waits for it with a durable timer, and
takes a snapshot of every active account, a few at a time. Signal:
``snapshot_waiting`` (a child waiting for screenshots, R-37): the batch goes
on without it (patched "fanout-releases-waiting-snapshots"); the result
lists it under ``waiting``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

from workflows import search_attributes as sa

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.messages import AllocateDiariumNumberInput, MessageActivities
    from activities.records import RecordActivities, RecordEventsInput
    from activities.snapshot import (
        CaptureSnapshotInput,
        DeliverSnapshotInput,
        LoadSnapshotAccountInput,
        PackageSnapshotInput,
        RenderSnapshotInput,
        ScreenshotUploadsInput,
        SnapshotAccount,
        SnapshotActivities,
        SnapshotPlanInput,
    )
    from domain import account as acc
    from domain import snapshot as snap
    from domain.records import StoredEvent
    from workflows.snapshot_models import (
        SnapshotFanOutInput,
        SnapshotFanOutResult,
        SnapshotInput,
        SnapshotResult,
    )

SYSTEM_ACTOR = "kanalvakt"
_SHORT = timedelta(seconds=30)
_CAPTURE = timedelta(minutes=5)
_RENDER = timedelta(minutes=5)
_PACKAGE = timedelta(minutes=10)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def _rejection(error: acc.DomainError) -> ApplicationError:
    return ApplicationError(error.message, error.details(), type=error.code,
                            non_retryable=True)


@workflow.defn(failure_exception_types=[ApplicationError, pydantic.ValidationError])
class SnapshotWorkflow:
    @workflow.init
    def __init__(self, inp: SnapshotInput) -> None:
        self._wait: snap.ScreenshotWait | None = None
        # The wait while its request is being written: the read model shows
        # it (same transaction) before this workflow folds it in, and an
        # Update arriving with the write's result is validated before that
        # result is applied. The validators decide on it meanwhile; the
        # handlers wait for the lock, and so for the written wait.
        self._asking: snap.ScreenshotWait | None = None
        # Handlers and timers interleave at every await: decide -> record ->
        # evolve is one step under the lock (the stream's expected version).
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: SnapshotInput) -> SnapshotResult:
        sid = inp.snapshot_id
        account = await workflow.execute_activity_method(
            SnapshotActivities.load_account, LoadSnapshotAccountInput(account_id=inp.account_id),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        taken_at = workflow.now()
        diarium_number = await workflow.execute_activity_method(
            MessageActivities.allocate_diarium_number,
            AllocateDiariumNumberInput(
                case_id=sid, municipality_id=account.municipality_id,
                prefix=account.diarium_prefix,
                year=snap.local_date(taken_at, account.timezone).year),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        waits = workflow.patched("manual-snapshot-waits")
        captured = await workflow.execute_activity_method(
            SnapshotActivities.capture,
            CaptureSnapshotInput(snapshot_id=sid, account=account, now=taken_at,
                                 wait_for_screenshots=waits),
            start_to_close_timeout=_CAPTURE, retry_policy=_RETRY)
        if captured.awaiting_screenshots:
            without = await self._wait_for_screenshots(inp, account)
            taken_at = workflow.now()
            captured = await workflow.execute_activity_method(
                SnapshotActivities.capture,
                CaptureSnapshotInput(snapshot_id=sid, account=account, now=taken_at,
                                     without_screenshots=without),
                start_to_close_timeout=_CAPTURE, retry_policy=_RETRY)
        await workflow.execute_activity_method(
            SnapshotActivities.render,
            RenderSnapshotInput(snapshot_id=sid, account=account, reason=inp.reason,
                                taken_at=taken_at, diarium_number=diarium_number),
            start_to_close_timeout=_RENDER, retry_policy=_RETRY)
        package = await workflow.execute_activity_method(
            SnapshotActivities.package,
            PackageSnapshotInput(snapshot_id=sid, account=account, reason=inp.reason,
                                 taken_at=taken_at, diarium_number=diarium_number),
            start_to_close_timeout=_PACKAGE, retry_policy=_RETRY)
        delivered = await workflow.execute_activity_method(
            SnapshotActivities.deliver,
            DeliverSnapshotInput(snapshot_id=sid, municipality_id=account.municipality_id,
                                 package=package),
            start_to_close_timeout=_PACKAGE, retry_policy=_RETRY)
        now = workflow.now()
        events: list[snap.SnapshotTaken | snap.SnapshotRegistered | snap.SnapshotDelivered] = [
            snap.SnapshotTaken(
                at=now, actor=inp.requested_by, snapshot_id=sid, account_id=account.account_id,
                municipality_id=account.municipality_id, reason=inp.reason,
                captured_at=taken_at, source=captured.source, posts=captured.posts,
                comments=captured.comments, screenshots=captured.screenshots,
                package_id=package.package_id, manifest_sha256=package.manifest_sha256,
                payload_oxum=package.payload_oxum),
            snap.SnapshotRegistered(
                at=now, actor=SYSTEM_ACTOR, snapshot_id=sid, account_id=account.account_id,
                municipality_id=account.municipality_id, diarium_number=diarium_number,
                record_class=account.record_class, registrars=account.registrars),
            snap.SnapshotDelivered(
                at=now, actor=SYSTEM_ACTOR, snapshot_id=sid, account_id=account.account_id,
                location=delivered.location, kind=delivered.kind),
        ]
        await workflow.execute_activity_method(
            RecordActivities.record_events,
            RecordEventsInput(stream_id=sid,
                              expected_version=self._wait.version if self._wait else 0,
                              events=[StoredEvent.of(str(workflow.uuid4()), e) for e in events],
                              correlation_id=sid),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        if self._wait is not None:
            workflow.upsert_search_attributes([sa.STAGE.value_set("taken"),
                                               sa.NEXT_DEADLINE.value_unset()])
        workflow.logger.info("snapshot taken", extra={"snapshot_id": sid,
                                                       "package_id": package.package_id})
        return SnapshotResult(snapshot_id=sid, package=package, diarium_number=diarium_number,
                              delivered_to=delivered.location, source=captured.source,
                              posts=captured.posts, comments=captured.comments,
                              screenshots=captured.screenshots)

    # ------------------------------------------------------------ screenshots

    async def _wait_for_screenshots(self, inp: SnapshotInput, account: SnapshotAccount) -> bool:
        """R-37, R-38: ask for screenshots and wait, reminding and escalating
        on the way; True when the communications unit decided to package
        without them."""
        now = workflow.now()
        people = account.screenshot_people
        wait = snap.ScreenshotWait(snapshot_id=inp.snapshot_id, account_id=account.account_id,
                                   requested_at=now, people=people)
        # Issue 14: the steps fall at the end of the office day; a wait
        # recorded before keeps the clock time of its request.
        end_of_day = workflow.patched("usability_end_of_day")
        steps = snap.screenshot_wait_plan(now, account.policy, account.country,
                                          account.timezone, people,
                                          account.office_hours if end_of_day else None)
        requested = snap.SnapshotScreenshotsRequested(
            at=now, actor=SYSTEM_ACTOR, snapshot_id=inp.snapshot_id,
            account_id=account.account_id, municipality_id=account.municipality_id,
            reason=inp.reason, platform=account.platform,
            recipients=sorted(set(people.admins or people.communications)), steps=steps)
        async with self._lock:
            self._asking = wait
            await self._record(wait, [requested])
            if workflow.patched("screenshot-wait-rereads-admins"):
                await self._reread_admins(account)
        self._upsert_search_attributes(account)
        parent = workflow.info().parent
        if parent is not None and inp.reason is snap.SnapshotReason.SCHEDULED:
            # The fan-out goes on with its next batch instead of waiting days.
            try:
                await workflow.get_external_workflow_handle(
                    parent.workflow_id, run_id=parent.run_id).signal(
                        "snapshot_waiting", inp.snapshot_id)
            except Exception:  # the fan-out has ended: nobody waits for us  # noqa: BLE001
                workflow.logger.info("fan-out not told", extra={"snapshot_id": inp.snapshot_id})
        workflow.logger.info("snapshot waits for screenshots",
                             extra={"snapshot_id": inp.snapshot_id})
        while (current := self._waiting()).outcome is None:
            pending = snap.pending_screenshot_steps(current)
            if not pending:
                await workflow.wait_condition(lambda: self._waiting().outcome is not None)
                break
            step = pending[0]
            left = step.due - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._waiting().outcome is not None, timeout=left)
                    break
                except TimeoutError:
                    pass
            async with self._lock:
                current = self._waiting()
                if current.outcome is None and step.key not in current.fired:
                    # Told, and allowed to say done from now on: the account's
                    # admins and authorities as they are today, not at the request.
                    fresh = await workflow.execute_activity_method(
                        SnapshotActivities.load_account,
                        LoadSnapshotAccountInput(account_id=account.account_id),
                        start_to_close_timeout=_SHORT, retry_policy=_RETRY)
                    current = current.model_copy(update={"people": fresh.screenshot_people})
                    await self._record(current, [snap.fire_screenshot_step(
                        current, snap.restep(step, current), now=workflow.now())])
            self._upsert_search_attributes(account)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._upsert_search_attributes(account)
        return self._waiting().outcome == "record_only"

    async def _reread_admins(self, account: SnapshotAccount) -> None:
        """R-12, R-13: an admin added or removed after `account` was read and
        before the request was on the record was told to no snapshot (the
        account's workflow finds the waiting ones in the read model, which
        has this one only from the request on): read the admins once more,
        now that it is there. Later changes come as `admins_changed`. Hold
        the lock."""
        fresh = await workflow.execute_activity_method(
            SnapshotActivities.load_account,
            LoadSnapshotAccountInput(account_id=account.account_id),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        events = snap.decide_wait_admins(self._waiting(), fresh.admins, now=workflow.now())
        if events:
            await self._record(self._waiting(), list(events))

    def _waiting(self) -> snap.ScreenshotWait:
        assert self._wait is not None
        return self._wait

    async def _record(self, wait: snap.ScreenshotWait,
                      events: list[snap.ScreenshotWaitEvent]) -> None:
        """On the snapshot's stream first, then in the state (hold the lock)."""
        await workflow.execute_activity_method(
            RecordActivities.record_events,
            RecordEventsInput(stream_id=wait.snapshot_id, expected_version=wait.version,
                              events=[StoredEvent.of(str(workflow.uuid4()), e) for e in events],
                              correlation_id=wait.snapshot_id),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        for event in events:
            wait = snap.evolve_wait(wait, event)
        self._wait = wait

    def _upsert_search_attributes(self, account: SnapshotAccount) -> None:
        wait = self._waiting()
        pending = snap.pending_screenshot_steps(wait) if wait.outcome is None else []
        workflow.upsert_search_attributes([
            sa.MUNICIPALITY.value_set(account.municipality_id),
            sa.ACCOUNT.value_set(account.account_id),
            sa.PLATFORM.value_set(account.platform),
            sa.STAGE.value_set("awaiting_screenshots" if wait.outcome is None else "capturing"),
            sa.ESCALATED.value_set(wait.escalated),
            sa.NEXT_DEADLINE.value_set(pending[0].due) if pending
            else sa.NEXT_DEADLINE.value_unset(),
        ])

    @workflow.update
    async def screenshots_done(self, command: snap.ScreenshotsDone) -> snap.ScreenshotWait:
        """R-37: the screenshots are uploaded; take the snapshot."""
        async with self._lock:
            wait = self._waiting()
            uploads = await workflow.execute_activity_method(
                SnapshotActivities.count_uploads,
                ScreenshotUploadsInput(account_id=wait.account_id, snapshot_id=wait.snapshot_id),
                start_to_close_timeout=_SHORT, retry_policy=_RETRY)
            try:
                event = snap.decide_screenshots_done(self._wait, command, now=workflow.now(),
                                                     uploads=uploads)
            except acc.DomainError as refused:
                raise _rejection(refused) from None
            await self._record(wait, [event])
            return self._waiting()

    @screenshots_done.validator
    def _validate_screenshots_done(self, command: snap.ScreenshotsDone) -> None:
        try:
            snap.decide_screenshots_done(self._wait or self._asking, command, now=workflow.now(),
                                         uploads=None)
        except acc.DomainError as refused:
            raise _rejection(refused) from None

    @workflow.update
    async def package_without_screenshots(self, command: snap.PackageWithoutScreenshots
                                          ) -> snap.ScreenshotWait:
        """R-37, R-38: the communications unit packages the record only, with a reason."""
        async with self._lock:
            try:
                event = snap.decide_record_only(self._wait, command, now=workflow.now())
            except acc.DomainError as refused:
                raise _rejection(refused) from None
            await self._record(self._waiting(), [event])
            return self._waiting()

    @package_without_screenshots.validator
    def _validate_record_only(self, command: snap.PackageWithoutScreenshots) -> None:
        try:
            snap.decide_record_only(self._wait or self._asking, command, now=workflow.now())
        except acc.DomainError as refused:
            raise _rejection(refused) from None

    @workflow.signal
    async def admins_changed(self, admins: list[str]) -> None:
        """R-12, R-13, R-37: the account's admins as they are now, from the
        account's workflow after an admin was added or removed
        (activities.snapshot_admins). Recorded on the snapshot's stream as
        SnapshotAdminsUpdated, then the validators decide on them: an added
        admin may say the screenshots are uploaded at once, a removed one no
        longer may. The same list again, or a wait that has ended, records
        nothing. A signal has no answer: a list the rule refuses is logged."""
        # Sent once the request is on the record; its activity's result may
        # reach this workflow in the same task as the signal, after it.
        await workflow.wait_condition(lambda: self._wait is not None)
        async with self._lock:
            try:
                events = snap.decide_wait_admins(self._wait, admins, now=workflow.now())
            except ValueError as refused:
                workflow.logger.warning("admins not applied: %s", refused,
                                        extra={"snapshot_id": workflow.info().workflow_id})
                return
            if events:
                await self._record(self._waiting(), list(events))

    @workflow.query
    def screenshot_wait(self) -> snap.ScreenshotWait | None:
        return self._wait


@workflow.defn(failure_exception_types=[ApplicationError, pydantic.ValidationError])
class SnapshotFanOutWorkflow:
    @workflow.init
    def __init__(self, inp: SnapshotFanOutInput) -> None:
        self._waiting: set[str] = set()

    @workflow.signal
    def snapshot_waiting(self, snapshot_id: str) -> None:
        """R-37: a child waits for screenshots (maybe for days)."""
        self._waiting.add(snapshot_id)

    @workflow.run
    async def run(self, inp: SnapshotFanOutInput) -> SnapshotFanOutResult:
        plan = await workflow.execute_activity_method(
            SnapshotActivities.plan,
            SnapshotPlanInput(municipality_id=inp.municipality_id, now=workflow.now(),
                              nominal=inp.nominal),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        wait = plan.at - workflow.now()
        if wait > timedelta(0):
            # a date in July, around Christmas or on a holiday moves on.
            await workflow.sleep(wait)
            # Accounts activated or closed meanwhile: read them again.
            plan = await workflow.execute_activity_method(
                SnapshotActivities.plan,
                SnapshotPlanInput(municipality_id=inp.municipality_id, now=workflow.now(),
                                  nominal=plan.nominal),
                start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        result = SnapshotFanOutResult(municipality_id=inp.municipality_id, nominal=plan.nominal,
                                      day=plan.day)
        key = snap.snapshot_key(snap.SnapshotReason.SCHEDULED, plan.day)
        release = workflow.patched("fanout-releases-waiting-snapshots")
        for start in range(0, len(plan.accounts), inp.batch_size):
            running = []
            for planned in plan.accounts[start:start + inp.batch_size]:
                sid = snap.snapshot_id(inp.municipality_id, planned.slug, key)
                try:
                    handle = await workflow.start_child_workflow(
                        SnapshotWorkflow.run,
                        SnapshotInput(account_id=planned.account_id, snapshot_id=sid,
                                      reason=snap.SnapshotReason.SCHEDULED),
                        id=sid, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        parent_close_policy=workflow.ParentClosePolicy.ABANDON)
                except WorkflowAlreadyStartedError:
                    result.skipped.append(sid)  # a rerun of the schedule: taken already
                    continue
                running.append((sid, handle))
            for sid, handle in running:
                if release:
                    await workflow.wait_condition(
                        lambda h=handle, s=sid: h.done() or s in self._waiting)  # type: ignore[misc]
                    if not handle.done():
                        result.waiting.append(sid)  # taken when its screenshots come
                        continue
                try:
                    await handle
                    result.taken.append(sid)
                except ChildWorkflowError:
                    workflow.logger.warning("snapshot failed", extra={"snapshot_id": sid})
                    result.failed.append(sid)
        return result
