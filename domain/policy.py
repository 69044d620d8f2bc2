"""Per-municipality settings of the rules (R-43: where the seeds differ, the
rule is a setting, the stricter reading its default)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.monitoring import MonitoringPolicy


class LifecyclePolicy(BaseModel):
    """Deadlines of the lifecycle in working days; a per-municipality setting
    (R-43). Defaults are the stricter readings of the seeds."""

    model_config = ConfigDict(frozen=True)

    manager_reminder_days: int = Field(5, ge=1)
    manager_escalation_days: int = Field(10, ge=1)
    manager_lapse_days: int = Field(30, ge=1)
    risk_reminder_days: int = Field(10, ge=1)
    risk_escalation_days: int = Field(20, ge=1)
    signoff_reminder_days: int = Field(5, ge=1)
    signoff_escalation_days: int = Field(10, ge=1)
    amend_reminder_days: int = Field(10, ge=1)
    amend_lapse_days: int = Field(30, ge=1)
    activation_reminder_days: int = Field(5, ge=1)
    activation_escalation_days: int = Field(10, ge=1)
    admin_restore_reminder_days: int = Field(2, ge=1)
    admin_restore_days: int = Field(5, ge=1)
    admin_restore_escalation_days: int = Field(10, ge=1)
    # Chains that never go silent (issue 16): after a stage's last escalation
    # the obligation (approve, assess, sign off, activate, restore admins,
    # confirm 2FA, close, hand to a registrar) is escalated again every
    # `chase_every_days` working days until someone acts or closes it.
    chase_every_days: int = Field(5, ge=1)
    # fewer than two admins with 2FA for this many working days
    # proposes the account's closure to the communications unit.
    admin_closure_days: int = Field(20, ge=1)
    # no check-in for this many days proposes closure.
    no_check_in_closure_days: int = Field(30, ge=1)
    # a new page needs the communications unit's approval (the
    # Swedish seeds, the stricter value) or only informs it (Kristiansand).
    new_page: Literal["approve", "inform"] = "approve"
    # who receives a closing account's final package when the
    # directory names no registrar; None: the closure waits and escalates.
    registrar_fallback: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    # R-15..R-20: check-ins, posting rhythm, inactivity and watch duty; an
    # account may set its own (ChangeMonitoringSettings).
    monitoring: MonitoringPolicy = MonitoringPolicy()

    @model_validator(mode="after")
    def _ordered(self) -> LifecyclePolicy:
        chains = [
            (self.manager_reminder_days, self.manager_escalation_days, self.manager_lapse_days),
            (self.risk_reminder_days, self.risk_escalation_days),
            (self.signoff_reminder_days, self.signoff_escalation_days),
            (self.amend_reminder_days, self.amend_lapse_days),
            (self.activation_reminder_days, self.activation_escalation_days),
            (self.admin_restore_reminder_days, self.admin_restore_days,
             self.admin_restore_escalation_days),
        ]
        if self.admin_closure_days <= self.admin_restore_escalation_days:
            raise ValueError("admin_closure_days must come after admin_restore_escalation_days")
        for chain in chains:
            if list(chain) != sorted(set(chain)):
                raise ValueError(f"deadline steps must grow strictly: {chain}")
        return self
