"""Read models projected from the events, inside the append's transaction,
one module each: accounts (with the public register, the account
notifications and the registrar inbox), messages, monitoring, snapshots,
crisis. `rebuild` replays the log into them in batches (issue 15)."""

from __future__ import annotations

from store.eventstore import Projection
from store.projections.accounts import (
    AccountsProjection,
    NotificationsProjection,
    PublicRegisterProjection,
    RegistrarInboxProjection,
)
from store.projections.crisis import CrisisProjection
from store.projections.messages import MessageCasesProjection
from store.projections.monitoring import MonitoringProjection
from store.projections.snapshots import SnapshotsProjection


def all_projections() -> list[Projection]:
    """In their order: the register and the registrar inbox read the accounts
    row; CrisisProjection (R-39, R-40) tags the case row MessageCasesProjection
    wrote; SnapshotsProjection is R-37, R-38."""
    return [AccountsProjection(), PublicRegisterProjection(), NotificationsProjection(),
            RegistrarInboxProjection(), MessageCasesProjection(), MonitoringProjection(),
            SnapshotsProjection(), CrisisProjection()]
