"""Crisis mode (R-39) and storm flags (R-40): the crisis workflow's side
effects (the reads are in readviews/crisis.py, the read models in
store/projections/crisis.py).

Who is told of a switch is read from the read models (accounts,
message_cases), not from Temporal's visibility: the read models are written
in the same transaction as the events, so a case whose receipt is on the
record is found at once, where visibility is eventually consistent.
"""

from __future__ import annotations

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities.signals import Told, gone, signal_each
from domain import crisis as cr
from domain.crisis_mode import CrisisMode, CrisisStatus
from readviews.crisis import covering_crisis, crisis_settings

_TERMINAL_ACCOUNT = ("closed", "rejected", "lapsed")
_TERMINAL_CASE = ("answered", "redacted", "disposed", "staff_post")


# --------------------------------------------------------------------------- activities


class InformCrisisInput(BaseModel):
    """Tell the accounts (and their open cases) what now applies to them."""

    state: cr.CrisisState
    account_id: str | None = None  # only this account (a storm flag's change)
    cases: bool = True


class InformCrisisResult(BaseModel):
    accounts: int
    cases: int
    not_running: int


class CoveringCrisisInput(BaseModel):
    municipality_id: str
    unit_id: str


class CoveringCrisisResult(BaseModel):
    mode: CrisisMode | None = None


class CompileDigestInput(BaseModel):
    crisis: CrisisMode
    period_start: AwareDatetime
    period_end: AwareDatetime
    recipients: list[str]


async def send_crisis_settings(pool: asyncpg.Pool, client: Client, municipality_id: str
                               ) -> cr.CrisisSettings | None:
    """R-39, R-43: after the directory is loaded, the municipality's running
    CrisisWorkflow gets its crisis settings and roles (`load_settings`, on the
    record as CrisisSettingsLoaded when they changed), so a new member of
    crisis management may switch and new intervals apply to the next crisis.
    Returns the settings sent, or None when no crisis workflow runs (it gets
    the directory's settings when it is started) or the municipality is gone."""
    settings = await crisis_settings(pool, municipality_id)
    if settings is None:
        return None
    try:
        await client.get_workflow_handle(cr.workflow_id_for(municipality_id)).execute_update(
            "load_settings", cr.LoadSettings(actor=cr.SYSTEM, settings=settings))
    except RPCError as error:
        if not gone(error):
            raise
        return None
    return settings


class CrisisActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="inform_crisis_scope")
    async def inform(self, inp: InformCrisisInput) -> InformCrisisResult:
        """R-39, R-40: signal `crisis_changed` to the municipality's running
        accounts and to their open cases whose crisis differs. Signals carry
        no personal data and are idempotent (a case told twice records once)."""
        client = activity.client()
        state = inp.state
        accounts = await self._pool.fetch(
            """SELECT account_id::text AS account_id, workflow_id, unit_id FROM accounts
               WHERE municipality_id = $1 AND NOT (stage = ANY($2::text[]))
                 AND ($3::text IS NULL OR account_id = $3::uuid)
               ORDER BY account_id""",
            state.municipality_id, list(_TERMINAL_ACCOUNT), inp.account_id)
        # A case never started (the feeder re-reads the crisis after starting
        # one, so it gets the rules itself) or already ended: nothing to tell.
        told_accounts, told_cases = Told(), Told()
        for account in accounts:
            status = state.status_for(account["account_id"], account["unit_id"])
            told_accounts += await signal_each(client, [account["workflow_id"]],
                                               "crisis_changed", status)
            if not inp.cases:
                continue
            mode = status.mode
            # A case whose crisis differs, or whose crisis names other
            # approvers (R-39: crisis management changed during the crisis).
            cases = await self._pool.fetch(
                """SELECT case_id FROM message_cases
                   WHERE account_id = $1::uuid AND NOT (stage = ANY($2::text[]))
                     AND ((state->'crisis'->>'crisis_id') IS DISTINCT FROM $3
                          OR COALESCE((state->'crisis'->>'through_crisis_management')::boolean,
                                      false) IS DISTINCT FROM $4
                          OR NOT (COALESCE(state->'crisis'->'crisis_management', '[]') @> $5
                                  AND $5 @> COALESCE(state->'crisis'->'crisis_management',
                                                     '[]')))
                   ORDER BY case_id""",
                account["account_id"], list(_TERMINAL_CASE),
                mode.crisis_id if mode else None,
                mode.through_crisis_management if mode else False,
                sorted(mode.crisis_management) if mode else [])
            told_cases += await signal_each(client, (c["case_id"] for c in cases),
                                            "crisis_changed", CrisisStatus(mode=status.mode))
        activity.logger.info("crisis status sent", extra={
            "municipality_id": state.municipality_id, "accounts": told_accounts.told,
            "cases": told_cases.told})
        return InformCrisisResult(accounts=told_accounts.told, cases=told_cases.told,
                                  not_running=told_accounts.not_running + told_cases.not_running)

    @activity.defn(name="covering_crisis_mode")
    async def covering_mode(self, inp: CoveringCrisisInput) -> CoveringCrisisResult:
        """R-39: the crisis in force for a unit's accounts, from the
        crisis_modes read model (written with the crisis stream's events), for
        an account that becomes active or continues while it may be in force."""
        return CoveringCrisisResult(
            mode=await covering_crisis(self._pool, inp.municipality_id, inp.unit_id))

    @activity.defn(name="compile_crisis_digest")
    async def compile_digest(self, inp: CompileDigestInput) -> cr.CrisisDigest:
        """R-39: questions and moods of the period, from the read models. Only
        whether a text asks something (`is_question`, derived when it was
        stored: the text is sealed, issue 10) is read, never the text. A
        message belongs to the period in which it reached Kanalvakt (its
        content's storage time), so one published earlier is not missed."""
        rows = await self._pool.fetch(
            """SELECT c.case_id, c.account_id::text AS account_id, a.unit_id,
                      coalesce(mc.stored_at, c.received_at) AS received_at,
                      coalesce(c.state->>'mood' = 'critical', false) AS critical,
                      coalesce(mc.is_question, false) AS question,
                      c.closed_at IS NULL AS open,
                      jsonb_array_length(c.flags) > 0 AS flagged
               FROM message_cases c
               JOIN accounts a ON a.account_id = c.account_id
               LEFT JOIN message_contents mc ON mc.case_id = c.case_id
               WHERE c.municipality_id = $1 AND NOT c.from_staff
                 AND coalesce(mc.stored_at, c.received_at) >= $2
                 AND coalesce(mc.stored_at, c.received_at) < $3""",
            inp.crisis.municipality_id, inp.period_start, inp.period_end)
        cases = [cr.DigestCase(**dict(r)) for r in rows]
        return cr.compile_digest(inp.crisis, cases, period_start=inp.period_start,
                                 period_end=inp.period_end, recipients=inp.recipients)
