"""Inputs and results of the snapshot workflows (passed through the sandbox,
like workflows.models)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from domain import account as acc
from domain.snapshot import SnapshotReason


class SnapshotInput(BaseModel):
    account_id: str
    snapshot_id: str  # snapshot:<municipality>:<slug>:<date or reason>, also the workflow id
    reason: SnapshotReason
    requested_by: str = "kanalvakt"
    change: str | None = None  # the account event behind a major-change snapshot


class SnapshotResult(BaseModel):
    snapshot_id: str
    package: acc.ArchivePackageRef
    diarium_number: str
    delivered_to: str
    source: str
    posts: int = 0
    comments: int = 0
    screenshots: int = 0


class SnapshotFanOutInput(BaseModel):
    municipality_id: str
    nominal: date | None = None  # default: today in the municipality (the schedule's date)
    batch_size: int = Field(4, ge=1, le=50)  # snapshots rendered at once (Chromium is heavy)


class SnapshotFanOutResult(BaseModel):
    municipality_id: str
    nominal: date
    day: date
    taken: list[str] = []
    skipped: list[str] = []  # a snapshot of that id existed already
    failed: list[str] = []
    waiting: list[str] = []  # waiting for screenshots; each goes on by itself
