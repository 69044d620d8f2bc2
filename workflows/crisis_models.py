"""Inputs and results of the CrisisWorkflow, passed through the sandbox like
workflows.models (no state, no I/O)."""

from __future__ import annotations

from pydantic import BaseModel

from activities.crisis import InformCrisisResult
from domain import crisis as cr
from domain.screening import StormSignal


class StormReport(BaseModel):
    """R-40: what the feeder saw on one account."""

    account_id: str
    unit_id: str
    signal: StormSignal


class CrisisWorkflowInput(BaseModel):
    """The first run gets the directory's settings and, if the stream exists
    (a restarted workflow), its folded record; a continued run its state."""

    settings: cr.CrisisSettings
    state: cr.CrisisState | None = None
    pending_storms: list[StormReport] = []


class CrisisResult(BaseModel):
    state: cr.CrisisState
    informed: InformCrisisResult | None = None
