"""Crisis mode (R-39) and storm flags (R-40): the crisis workflow's side
effects, the reads the feeder and the web app need, and the read models
projected from the crisis streams (`crisis:<municipality>`).

Who is told of a switch is read from the read models (accounts,
message_cases), not from Temporal's visibility: the read models are written
in the same transaction as the events, so a case whose receipt is on the
record is found at once, where visibility is eventually consistent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities.signals import Told, gone, signal_each
from codec import DataKeys
from domain import crisis as cr
from domain.crisis_mode import CrisisMode, CrisisStatus
from domain.screening import StormPolicy, WindowCounts, counted_minutes
from store.message_contents import with_contents

_TERMINAL_ACCOUNT = ("closed", "rejected", "lapsed")
_TERMINAL_CASE = ("answered", "redacted", "disposed", "staff_post")


# --------------------------------------------------------------------------- reads


async def crisis_settings(pool: asyncpg.Pool, municipality_id: str) -> cr.CrisisSettings | None:
    """The municipality's crisis settings and roles as the directory holds them."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT crisis_policy, country, social_media_policy_url FROM municipalities "
            "WHERE id = $1", municipality_id)
        if row is None:
            return None
        roles = await conn.fetch(
            """SELECT r.role, r.person_id FROM roles r
               JOIN people p ON p.municipality_id = r.municipality_id AND p.id = r.person_id
               WHERE r.municipality_id = $1 AND p.active""", municipality_id)
        units = await conn.fetch("SELECT id FROM units WHERE municipality_id = $1 AND active",
                                 municipality_id)
    return cr.CrisisSettings(
        municipality_id=municipality_id,
        policy=cr.CrisisPolicy.model_validate(row["crisis_policy"] or {}),
        crisis_management=frozenset(r["person_id"] for r in roles
                                    if r["role"] == "crisis_management"),
        communications=frozenset(r["person_id"] for r in roles if r["role"] == "communications"),
        units=frozenset(u["id"] for u in units),
        country=row["country"], home_page=_home_page(row["social_media_policy_url"]))


def _home_page(policy_url: str | None) -> str | None:
    """R-39: the municipality's own website, the origin of its policy page."""
    if not policy_url:
        return None
    parts = urlsplit(policy_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme == "https" else None


async def crisis_record(pool: asyncpg.Pool, municipality_id: str) -> cr.CrisisState | None:
    """The crisis stream folded: what a (re)started crisis workflow carries on."""
    rows = await pool.fetch("SELECT data FROM events WHERE stream_id = $1 ORDER BY version",
                            cr.workflow_id_for(municipality_id))
    if not rows:
        return None
    return cr.fold([cr.parse_event(r["data"]) for r in rows])


async def current_crisis(pool: asyncpg.Pool, municipality_id: str) -> CrisisMode | None:
    mode = await pool.fetchval(
        "SELECT mode FROM crisis_modes WHERE municipality_id = $1 AND ended_at IS NULL",
        municipality_id)
    return None if mode is None else CrisisMode.model_validate(mode)


async def covering_crisis(pool: asyncpg.Pool, municipality_id: str, unit_id: str
                          ) -> CrisisMode | None:
    """R-39: the crisis in force for a unit's accounts, if any."""
    mode = await current_crisis(pool, municipality_id)
    return mode if mode is not None and mode.covers(unit_id) else None


async def storm_cooldown_until(pool: asyncpg.Pool, account_id: str) -> datetime | None:
    until: datetime | None = await pool.fetchval(
        """SELECT max(cooldown_until) FROM crisis_storms
           WHERE account_id = $1::uuid AND cooled_down_at IS NULL""", account_id)
    return until


async def window_counts(pool: asyncpg.Pool, account_id: str, now: datetime,
                        policy: StormPolicy) -> WindowCounts:
    """R-40: the account's citizen messages in the storm window ending at
    `now`, from the per-minute counts (at most a window's minutes read)."""
    first, last = counted_minutes(now, policy)
    row = await pool.fetchrow(
        """SELECT coalesce(sum(messages), 0) AS messages, coalesce(sum(critical), 0) AS critical
           FROM storm_counts WHERE account_id = $1::uuid AND minute BETWEEN $2 AND $3""",
        account_id, first, last)
    assert row is not None
    return WindowCounts(window_start=now - policy.window, window_end=now,
                        messages=row["messages"], critical=row["critical"])


async def digests(pool: asyncpg.Pool, municipality_id: str, *, crisis_id: str | None = None,
                  texts: bool = False, data_keys: DataKeys | None = None
                  ) -> list[dict[str, Any]]:
    """R-39: the digests, newest first; with `texts`, the questions' texts from
    the content store, opened with `data_keys` (None once disposed), for
    crisis management's page."""
    rows = await pool.fetch(
        """SELECT digest FROM crisis_digests WHERE municipality_id = $1
             AND ($2::text IS NULL OR crisis_id = $2) ORDER BY period_end DESC""",
        municipality_id, crisis_id)
    out = [dict(r["digest"]) for r in rows]
    if texts:
        ids = sorted({i for d in out for i in d["question_case_ids"]})
        rows = await pool.fetch(
            "SELECT case_id, content FROM message_contents WHERE case_id = ANY($1::text[])", ids)
        found = {r["case_id"]: r["text"]
                 for r in await with_contents(data_keys, [dict(r) for r in rows])}
        for d in out:
            d["questions_text"] = [{"case_id": i, "text": found.get(i)}
                                   for i in d["question_case_ids"]]
    return out


async def crises(pool: asyncpg.Pool, municipality_id: str | None = None, *,
                 current: bool = False) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT crisis_id, municipality_id, units, mode, reason, declared_by, declared_at,
                  ended_by, ended_at, end_reason FROM crisis_modes
           WHERE ($1::text IS NULL OR municipality_id = $1) AND (NOT $2 OR ended_at IS NULL)
           ORDER BY declared_at DESC""", municipality_id, current)
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in rows]


async def storms(pool: asyncpg.Pool, municipality_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT s.*, a.account_name FROM crisis_storms s
           LEFT JOIN accounts a ON a.account_id = s.account_id
           WHERE s.municipality_id = $1 ORDER BY flagged_at DESC""", municipality_id)
    return [{k: (v.isoformat() if isinstance(v, datetime) else str(v)
                 if isinstance(v, uuid.UUID) else v) for k, v in r.items()} for r in rows]


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
