"""R-41 (issue 14): a guardian's uploaded consent ends, withdrawn by the
guardian or disposed of. Who may record it: the account's admins (they
publish its posts and take the image down) and the communications unit (it
answers for the municipality's channels and keeps their records, R-36).
The record names the upload, who, when and why; the web app then destroys
the file (its own data key) and the admins are told to take the image
down (domain.account.plans, `consent_take_down`)."""

from __future__ import annotations

from datetime import datetime

from domain.account.commands import WithdrawConsent
from domain.account.events import AccountEvent, ConsentWithdrawn
from domain.account.state import AccountState
from domain.core import NotAuthorised, RuleViolation


def may_withdraw_consent(state: AccountState, person: str) -> bool:
    """R-41: the account's admins and the communications unit."""
    return person in state.admins or state.authorities.is_communications(person)


def withdraw_consent(state: AccountState, command: WithdrawConsent,
                     now: datetime) -> list[AccountEvent]:
    """R-41: record that a consent ended; again for one already ended is
    nothing new (a retry, so the file's destruction can be finished)."""
    if not may_withdraw_consent(state, command.actor):
        raise NotAuthorised(
            f"{command.actor} may not withdraw a guardian's consent: the account's admins "
            "and the communications unit do (R-41)", key="consent.who")
    consent = next((c for c in state.consents if c.upload_id == command.upload_id), None)
    if consent is None:
        raise RuleViolation(f"no consent {command.upload_id} is recorded with this "
                            "account's posts (R-41)", key="consent.unknown")
    if consent.ended is not None:
        return []
    return [ConsentWithdrawn(at=now, actor=command.actor, upload_id=consent.upload_id,
                             post_id=consent.post_id, end=command.end,
                             reason=command.reason)]


def consents_taken_down(state: AccountState) -> list[str]:
    """The upload ids of ended consents (their images to be taken down)."""
    return [c.upload_id for c in state.consents if c.ended is not None]
