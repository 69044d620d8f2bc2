"""The inputs and results of the workflows, their updates and queries.

Kept apart from the workflow modules and passed through the sandbox: the
sandbox re-imports a workflow module for every new workflow instance, and
building these pydantic classes each time was most of the worker's CPU in a
storm (docs/benchmarks.md). They hold no state and run no I/O.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from adapters.connectors.base import ActionResult
from domain import account as acc
from domain import message as msg
from domain.redaction import RemovalCategory
from domain.text import CleanStrings


class AccountWorkflowInput(BaseModel):
    """The first run gets `start`; a continued run gets the carried `state`."""

    start: acc.RequestAccount | None = None
    state: acc.AccountState | None = None
    refresh_pending: bool = False


class AccountWorkflowResult(BaseModel):
    account_id: str
    stage: acc.Stage
    version: int
    final_package: acc.ArchivePackageRef | None = None


class DeadlinesView(BaseModel):
    next_deadline: str | None
    pending: list[acc.DeadlineStep]


class MessageDecisionTaken(BaseModel):
    """Signal from a message case to its account's case: a person took a
    moderation decision, which counts as a check-in (R-15, R-16)."""

    actor: str
    at: datetime
    case_id: str
    decision: str


class MessageWorkflowInput(BaseModel):
    receive: msg.ReceiveMessage
    diarium_prefix: str = "KS"
    # True when the feeder already put the receipt on the record (content and
    # receipt events, decided by the same rules): then nothing is written here.
    receipt_recorded: bool = False
    # The account's case (`account:<municipality>:<slug>`), told of every
    # decision a person takes: a check-in. None: nobody is told.
    account_workflow_id: str | None = None
    # a case chased for a long time continues as new; the next run
    # carries the case as it stands (None: a first run, decided from `receive`).
    state: msg.MessageState | None = None


class MessageWorkflowResult(BaseModel):
    case_id: str
    stage: msg.Stage
    version: int


class AcknowledgeRequest(CleanStrings):
    actor: str
    text: str = Field(min_length=1, max_length=8000)


class RespondRequest(CleanStrings):
    actor: str
    text: str = Field(min_length=1, max_length=8000)
    signed: bool = False
    signature: str | None = Field(None, max_length=300)
    correction: msg.Correction | None = None  # the answer corrects a factual error


class RegisterRequest(CleanStrings):
    actor: str
    record_class: str = Field(min_length=1, max_length=100)
    confidential: bool = False


class RedactRequest(CleanStrings):
    actor: str
    category: RemovalCategory
    reason: str = Field(min_length=1, max_length=8000)
    # the disposal decision advertising is deleted under (None: the
    # account's policy names it, MessagePolicy.advertising_disposal_decision).
    decision_id: str | None = Field(None, max_length=100)
    # the removed content is to be kept: registered first, filed with its case.
    keep: bool = False


class DecisionResult(BaseModel):
    """What the form shows: the case as it now stands, and what a person must
    still do on a platform without an API."""

    state: msg.MessageState
    platform: ActionResult | None = None
