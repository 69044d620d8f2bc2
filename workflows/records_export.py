"""RecordsExportWorkflow: a registrar's records export (R-38) run by a worker
(issue 12 part 6), started by the web (POST /api/records-exports), which
returns at once.

    query  progress -> RecordsExportProgress (queued, building, done, failed, expired)

The package is built and stored in PostgreSQL by one activity; the workflow
then keeps it downloadable for `keep` and empties it (data protection: the
export holds the messages' texts in the clear).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.records_export import (
        BuildRecordsExportInput,
        FinishRecordsExportInput,
        RecordsExportActivities,
        RecordsExportProgress,
    )

_BUILD = timedelta(minutes=30)
_HEARTBEAT = timedelta(minutes=5)  # heartbeats between reading, zipping and storing
_SHORT = timedelta(seconds=30)
_BUILD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2),
                           maximum_interval=timedelta(minutes=1), maximum_attempts=5)


@workflow.defn(failure_exception_types=[pydantic.ValidationError])
class RecordsExportWorkflow:
    @workflow.init
    def __init__(self, inp: BuildRecordsExportInput) -> None:
        self._progress = RecordsExportProgress(export_id=inp.export_id)

    @workflow.query
    def progress(self) -> RecordsExportProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: BuildRecordsExportInput) -> RecordsExportProgress:
        self._progress = self._progress.model_copy(update={"status": "building"})
        try:
            built = await workflow.execute_activity_method(
                RecordsExportActivities.build, inp, start_to_close_timeout=_BUILD,
                heartbeat_timeout=_HEARTBEAT, retry_policy=_BUILD_RETRY)
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(err)
            await workflow.execute_activity_method(
                RecordsExportActivities.finish,
                FinishRecordsExportInput(export_id=inp.export_id, status="failed",
                                         error=reason[:500]),
                start_to_close_timeout=_SHORT)
            self._progress = self._progress.model_copy(update={
                "status": "failed", "error": reason[:500], "finished_at": workflow.now()})
            return self._progress
        self._progress = self._progress.model_copy(update={
            "status": "done", "step": 1, "package_id": built.package_id, "size": built.size,
            "finished_at": built.finished_at, "expires_at": built.expires_at})
        wait = built.expires_at - workflow.now()
        if wait > timedelta(0):  # guard: after an activity it can be negative
            await workflow.sleep(wait)
        await workflow.execute_activity_method(
            RecordsExportActivities.finish,
            FinishRecordsExportInput(export_id=inp.export_id, status="expired"),
            start_to_close_timeout=_SHORT)
        self._progress = self._progress.model_copy(update={"status": "expired", "step": 2})
        return self._progress
