"""Snapshots of official accounts (R-37, R-38).

SnapshotWorkflow, id ``snapshot:<municipality>:<slug>:<date or reason>`` (no
personal data): one snapshot of one account, started by the municipality's
fan-out (scheduled), by a person or a major change (on demand), or as a
child of AccountLifecycleWorkflow before closure (final). Steps, each an
idempotent activity retried until it succeeds:

    load account -> diarium number -> capture -> render (HTML, PDF, PNG)
    -> package (BagIt + METS) -> deliver -> record SnapshotTaken,
    SnapshotRegistered, SnapshotDelivered on the snapshot's stream

The stream id is the snapshot id: the account's own stream is written only
by its workflow (optimistic concurrency), so the closure records the
package on it as FinalSnapshotArchived while the snapshots read model joins
both by account.

SnapshotFanOutWorkflow: started by the Temporal Schedule ``snapshots:<municipality>``
on the policy's nominal dates; moves to the allowed day (R-37: off July,
Christmas, weekends and holidays), waits for it with a durable timer, and
takes a snapshot of every active account, a few at a time.
No updates, signals or queries.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

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
        SnapshotActivities,
        SnapshotPlanInput,
    )
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


@workflow.defn(failure_exception_types=[ApplicationError, pydantic.ValidationError])
class SnapshotWorkflow:
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
        captured = await workflow.execute_activity_method(
            SnapshotActivities.capture,
            CaptureSnapshotInput(snapshot_id=sid, account=account, now=taken_at),
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
            RecordEventsInput(stream_id=sid, expected_version=0,
                              events=[StoredEvent.of(str(workflow.uuid4()), e) for e in events],
                              correlation_id=sid),
            start_to_close_timeout=_SHORT, retry_policy=_RETRY)
        workflow.logger.info("snapshot taken", extra={"snapshot_id": sid,
                                                       "package_id": package.package_id})
        return SnapshotResult(snapshot_id=sid, package=package, diarium_number=diarium_number,
                              delivered_to=delivered.location, source=captured.source,
                              posts=captured.posts, comments=captured.comments,
                              screenshots=captured.screenshots)


@workflow.defn(failure_exception_types=[ApplicationError, pydantic.ValidationError])
class SnapshotFanOutWorkflow:
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
                try:
                    await handle
                    result.taken.append(sid)
                except ChildWorkflowError:
                    workflow.logger.warning("snapshot failed", extra={"snapshot_id": sid})
                    result.failed.append(sid)
        return result
