"""R-36: "Registret över kanalerna ingår i dokumenthanteringsplanen med sitt
gallringsbeslut" ("det är lämpligt att ha en förteckning över webbplatserna
i dokumenthanteringsplanen, tillsammans med beslutet om gallring", 001 §8.1).

The register of official channels (R-07) is a record of the municipality:
its line in the records-management plan (dokumenthanteringsplan, arkivplan)
says whether the register and each entry's history are kept (bevaras) or
disposed of (gallras) after a time, under which decision. The municipality's
directory YAML gives it (`municipality.records.channels`); without it the
stricter reading applies: kept."""

from __future__ import annotations

from calendar import isleap
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RegisterDisposal(BaseModel):
    """The disposal decision that applies to the register of channels."""

    model_config = ConfigDict(frozen=True)

    # The plan's line (process, record type) the register comes under.
    plan_line: str = Field("Förteckning över officiella kanaler i sociala medier",
                           min_length=1, max_length=300)
    record_class: str | None = Field(None, max_length=100)
    action: Literal["keep", "dispose"] = "keep"  # bevaras / gallras
    # With "dispose": the years an entry's history is kept after the entry
    # left the register.
    dispose_after_years: int | None = Field(None, ge=1, le=100)
    # The decision's reference (e.g. KS 2024/118), or None where the plan is
    # adopted without a separate decision.
    decision: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=1000)

    def dispose_from(self, removed_on: date | None) -> date | None:
        """The first day an entry's history may be disposed of: None while it
        is listed, or when the register is kept."""
        if self.action != "dispose" or removed_on is None:
            return None
        year = removed_on.year + (self.dispose_after_years or 0)
        day = 28 if (removed_on.month, removed_on.day) == (2, 29) and not isleap(year) \
            else removed_on.day
        return removed_on.replace(year=year, day=day)

    @model_validator(mode="after")
    def _years_with_disposal(self) -> RegisterDisposal:
        if (self.action == "dispose") != (self.dispose_after_years is not None):
            raise ValueError("a disposal (gallras) names dispose_after_years; keeping does not")
        return self


class RecordsPlan(BaseModel):
    """The municipality's records-management plan, as far as Kanalvakt needs it."""

    model_config = ConfigDict(frozen=True)

    channels: RegisterDisposal = RegisterDisposal()  # the register of channels
