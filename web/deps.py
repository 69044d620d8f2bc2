"""What every router of the web app shares, below all of them (issue 11):
the app's context, the FastAPI dependencies that hand it out, and the
request helpers that turn a workflow's refusal into an HTTP answer.

    from web.deps import AppContext, Ctx, field_error, send_update

Routers and pages import from here, never from web.app (which only
assembles the app) nor from each other's private helpers.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import Depends, HTTPException, Path, Request
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError

from codec import DataKeys, data_keys_of
from store.directory import DirectoryRepository

log = structlog.get_logger("kanalvakt.web")

# The HTTP status of each kind of refusal (domain.core's error family).
STATUS_FOR = {"NotAuthorised": 403, "WrongStage": 409, "RuleViolation": 422,
              "PlatformPermanentError": 502, "PlatformTransientError": 502}


class AppContext:
    """The connections a request works with, built once in the app's lifespan."""

    def __init__(self, pool: asyncpg.Pool, client: Client, task_queue: str) -> None:
        self.pool = pool
        self.client = client
        self.task_queue = task_queue
        self.directory = DirectoryRepository(pool)

    @property
    def data_keys(self) -> DataKeys | None:
        """The per-case data keys behind the client's codec, which open what
        is sealed at rest (message contents, preserved copies; issue 10)."""
        return data_keys_of(self.client.data_converter.payload_codec)


def context_of(request: Request) -> AppContext:
    """The app's context (set by web.app's lifespan)."""
    ctx: AppContext = request.app.state.ctx
    return ctx


async def app_context(request: Request) -> AppContext:
    """The app's context as a dependency. Async, though it awaits nothing:
    FastAPI runs a plain `def` dependency in its thread pool, a hand-off on
    every request."""
    return context_of(request)


Ctx = Annotated[AppContext, Depends(app_context)]
# A person named in the address, checked as the commands check acc.PersonId.
PersonInPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]


def field_error(field: list[str | int], message: str, kind: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so a form can show
    it beside the field."""
    return HTTPException(422, detail=[{"loc": ["body", *field], "msg": message, "type": kind}])


def refusal_key(cause: ApplicationError) -> dict[str, Any]:
    """The refusal's stable key, params and keyed parts from the workflow's
    ApplicationError details (domain.core.DomainError.details); pages
    show web.rule_texts' text for them, the JSON API carries the key beside
    the English message. Nothing when the error carries no key."""
    first = cause.details[0] if cause.details else None
    if not isinstance(first, dict) or not isinstance(first.get("key"), str):
        return {}
    return {"key": first["key"], "params": dict(first.get("params") or {}),
            "parts": list(first.get("parts") or [])}


async def send_update(handle: WorkflowHandle[Any, Any], update: Any, command: BaseModel) -> Any:
    """Send a decision; a refusal by the workflow becomes 403/409/422 with its
    reason, a platform's refusal (from an activity) 502 with the platform's."""
    try:
        return await handle.execute_update(update, command)
    except WorkflowUpdateFailedError as failed:
        cause: BaseException | None = failed.cause
        if isinstance(cause, ActivityError):
            cause = cause.cause
        if isinstance(cause, ApplicationError):
            raise HTTPException(STATUS_FOR.get(cause.type or "", 400),
                                detail={"code": cause.type, "message": cause.message,
                                        **refusal_key(cause)}) from None
        raise
    except RPCError as error:
        if "already completed" in str(error):
            raise HTTPException(409, detail={"code": "WrongStage", "message": "the case has ended",
                                             "key": "case.ended"}) from None
        if "Workflow Task in failed state" in str(error):
            # The case's workflow is failing a task (a bug, not the caller's
            # input): say so and when to try again, instead of a bare 500.
            log.error("decision refused: the case's workflow task is failing",
                      workflow_id=handle.id)
            raise HTTPException(503, detail={
                "code": "CaseNotReady", "key": "case.not_ready",
                "message": "the case cannot take decisions now: its workflow is failing; "
                           "operators see it in the Temporal UI"},
                headers={"Retry-After": "60"}) from None
        raise
