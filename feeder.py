"""The feeder: turns every intake row into a running case, at the rate the
Temporal server accepts, idempotently (DESIGN.md, "Intake under load").

A webhook is answered as soon as its messages are in the intake table; the
feeder records each message's receipt (content and receipt events) and
starts (or, for a redelivery, finds) its workflow by its id from platform and
external id, then marks the row started.

One row never stops the others (issue 9). Every failure of a row is caught
and logged with the row's key and the kind of failure (never the text):
- a row that can never succeed (an impossible date, data the domain refuses,
  a stored message that no longer parses) is parked at once;
- any other failure of the row (its account unknown, for instance) makes it
  wait its turn, longer each time (`RetryPolicy`), and parks it after its
  attempts; meanwhile later rows flow;
- an outage of PostgreSQL or Temporal is nobody's row's fault: the rows are
  handed back without using up an attempt, and the feeder pauses.
Parked rows are listed and sent back by hand with `kanalvakt intake`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from codec import claim_scope, data_keys_of
from deploy.worker_health import FEEDER_LAG, FEEDER_STARTED
from domain import account as acc
from domain import crisis as cr
from domain import message as msg
from domain.crisis_mode import CrisisMode, CrisisStatus
from domain.inbound import InboundMessage, MessageKind, impossible_date, message_workflow_id
from readviews.crisis import (
    covering_crisis,
    crisis_record,
    crisis_settings,
    storm_cooldown_until,
    window_counts,
)
from store.db import database_unavailable
from store.eventstore import EventStore
from store.intake import (
    IntakeRepository,
    PendingMessage,
    RetryPolicy,
    RowKey,
    describe,
)
from store.projections import all_projections
from store.receipts import record_receipt
from workflows.crisis_models import StormReport
from workflows.starter import signal_storm, start_message_case

log = structlog.get_logger("kanalvakt.feeder")


@dataclass(frozen=True)
class AccountContext:
    """What a message case needs from its account, as of now."""

    account_id: str
    municipality_id: str
    country: Any
    timezone: str
    diarium_prefix: str
    policy: msg.MessagePolicy
    authorities: msg.MessageAuthorities
    unit_id: str = ""
    crisis: CrisisMode | None = None  # the crisis covering the account now
    crisis_policy: cr.CrisisPolicy = cr.CrisisPolicy()  # its storm settings
    workflow_id: str | None = None  # the account's case: decisions are its check-ins


class UnknownAccount(LookupError):
    pass


class ImpossibleMessage(ValueError):
    """The message can never become a case as it is (its date, for one)."""


class Outcome(StrEnum):
    STARTED = "started"
    RETRY = "retry"        # failed; tried again after its backoff
    PARKED = "parked"      # failed for good, or too often: an operator's turn
    DEFERRED = "deferred"  # PostgreSQL or Temporal away: not the row's fault


# Failures of the row's own data: retrying cannot help.
_PERMANENT = (ImpossibleMessage, ValueError, TypeError, acc.DomainError, cr.CrisisError)
# The server is away or busy, not the row at fault.
_UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.CANCELLED,
                RPCStatusCode.ABORTED}


def is_outage(error: BaseException) -> bool:
    """PostgreSQL or Temporal cannot be reached or is restarting."""
    if isinstance(error, RPCError):
        return error.status in _UNAVAILABLE
    return database_unavailable(error)


async def account_for(pool: asyncpg.Pool, message: InboundMessage) -> AccountContext:
    """The active account the message was written to: by the platform's id
    of the account (webhooks) or by our own account id (manual entry)."""
    row = await pool.fetchrow(
        """
        SELECT a.account_id, a.state, m.diarium_prefix, m.message_policy, m.crisis_policy
        FROM accounts a JOIN municipalities m ON m.id = a.municipality_id
        WHERE a.platform = $1 AND a.stage = 'active'
          AND (a.platform_account_id = $2 OR a.account_id::text = $2)
        """,
        message.platform.value, message.account_ref,
    )
    if row is None:
        raise UnknownAccount(f"no active {message.platform.value} account {message.account_ref}")
    state = acc.AccountState.model_validate(row["state"])
    a = state.authorities
    return AccountContext(
        account_id=str(row["account_id"]), municipality_id=state.municipality_id,
        country=state.country, timezone=state.timezone, diarium_prefix=row["diarium_prefix"],
        policy=acc.answering_policy(state, row["message_policy"]),
        authorities=msg.MessageAuthorities(
            admins=frozenset(state.admins), manager=a.manager, deputy=a.deputy,
            communications=a.communications, registrars=a.registrars,
            absences=tuple(state.absences)),
        unit_id=state.request.unit_id,
        crisis=await covering_crisis(pool, state.municipality_id, state.request.unit_id),
        crisis_policy=cr.CrisisPolicy.model_validate(row["crisis_policy"] or {}),
        workflow_id=acc.workflow_id_for(state.municipality_id, state.slug),
    )


class IntakeFeeder:
    def __init__(self, pool: asyncpg.Pool, client: Client, task_queue: str, *,
                 store: EventStore | None = None, batch: int = 100,
                 concurrency: int = 20, retry: RetryPolicy | None = None,
                 lease_seconds: float = 60) -> None:
        self._pool = pool
        self._store = store or EventStore(pool, all_projections())
        self._intake = IntakeRepository(pool)
        self._client = client
        self._task_queue = task_queue
        self._batch = batch
        self._starts = asyncio.Semaphore(concurrency)
        self._retry = retry or RetryPolicy()
        self._lease_seconds = lease_seconds

    async def feed_once(self) -> int:
        """Start the cases of one batch of due rows; returns how many rows
        were dealt with (started, deferred to a later attempt or parked).
        Raises only when PostgreSQL or Temporal is away, after handing the
        batch back.

        The rows are taken account by account: the account's context is read
        once for all its rows of the batch, and its crisis and storm checks
        run once after its cases started (issue 15: a storm on one account
        costs the same per message whatever its size)."""
        pending, unreadable = await self._intake.claim(self._batch,
                                                         lease_seconds=self._lease_seconds)
        for row in unreadable:
            await self._failed(row.key, row.attempts, row.reason, permanent=True)
        if not pending:
            return len(unreadable)
        by_account: dict[tuple[str, str], list[PendingMessage]] = {}
        for p in pending:
            by_account.setdefault((p.message.platform.value, p.message.account_ref), []).append(p)
        outcomes = [o for group in await asyncio.gather(
            *(self._feed_account(rows) for rows in by_account.values())) for o in group]
        started = [p.message for p, o in outcomes if o is Outcome.STARTED]
        if started:
            now = await self._pool.fetchval("SELECT clock_timestamp()")
            await self._intake.mark_started(started, at=now)
            for p, o in outcomes:  # issue 12: arrival to start, for the metrics
                if o is Outcome.STARTED:
                    FEEDER_LAG.observe(max(0.0, (now - p.received_at).total_seconds()))
            FEEDER_STARTED.inc(len(started))
        deferred = [p for p, o in outcomes if o is Outcome.DEFERRED]
        if deferred:
            await self._intake.hand_back([_key(p.message) for p in deferred])
            raise FeederPaused(f"{len(deferred)} rows handed back: PostgreSQL or Temporal away")
        return len(pending) + len(unreadable)

    async def _failed(self, key: RowKey, attempts: int, reason: str, *, permanent: bool
                      ) -> Outcome:
        parked = await self._intake.mark_failed(key, reason, attempts=attempts,
                                                policy=self._retry, permanent=permanent)
        if parked:
            log.error("intake row parked", row=str(key), attempts=attempts, reason=reason)
            return Outcome.PARKED
        log.warning("intake row not started", row=str(key), attempts=attempts, reason=reason,
                    retry_in_s=self._retry.delay(attempts).total_seconds())
        return Outcome.RETRY

    async def _failure(self, pending: PendingMessage, error: Exception) -> Outcome:
        """One row's failure, sorted: an outage defers it, anything else is
        the row's own (retried after its backoff, or parked)."""
        if is_outage(error):
            log.warning("intake row deferred: PostgreSQL or Temporal away",
                        row=str(_key(pending.message)), reason=describe(error))
            return Outcome.DEFERRED
        return await self._failed(_key(pending.message), pending.attempts, describe(error),
                                  permanent=isinstance(error, _PERMANENT))

    async def _feed_account(self, rows: list[PendingMessage]
                            ) -> list[tuple[PendingMessage, Outcome]]:
        """The batch's rows of one account (one platform and account ref)."""
        try:
            account = await account_for(self._pool, rows[0].message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the account's failure is each of its rows'
            return [(p, await self._failure(p, error)) for p in rows]
        results = await asyncio.gather(*(self._start(p, account) for p in rows))
        outcomes = [(p, outcome) for p, (outcome, _) in zip(rows, results, strict=True)]
        started = [(p, case) for p, (outcome, case) in zip(rows, results, strict=True)
                   if outcome is Outcome.STARTED and case is not None]
        if not started:
            return outcomes
        try:
            await self._after_starts(account, started)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not is_outage(error):
                # The cases run; a crisis or storm step that fails for another
                # reason is a fault of ours, not of the rows: said, not retried.
                log.error("crisis or storm check failed after starting cases",
                          account_id=account.account_id, reason=describe(error))
                return outcomes
            # Handed back: the starts find their cases (USE_EXISTING) and
            # the checks run again.
            again = {id(p) for p, _ in started}
            return [(p, Outcome.DEFERRED if id(p) in again else o) for p, o in outcomes]
        return outcomes

    async def _start(self, pending: PendingMessage, account: AccountContext
                     ) -> tuple[Outcome, _Started | None]:
        async with self._starts:
            try:
                return Outcome.STARTED, await self._start_case(pending, account)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # one row's failure is never the feeder's
                return await self._failure(pending, error), None

    async def _start_case(self, pending: PendingMessage, account: AccountContext
                          ) -> _Started | None:
        """Record the receipt and start (or find) the case; None when its
        case already ran and ended (a late redelivery)."""
        m = pending.message
        # The calendars cannot give a deadline to a date no platform could
        # have written (checked here too: a webhook's row is not refused).
        problem = impossible_date(m, now=datetime.now(UTC))
        if problem is not None:
            raise ImpossibleMessage(problem)
        command = msg.ReceiveMessage(
            actor=msg.SYSTEM, case_id=message_workflow_id(m.platform, m.external_id),
            account_id=account.account_id, municipality_id=account.municipality_id,
            country=account.country, timezone=account.timezone, message=m,
            policy=account.policy, authorities=account.authorities,
            crisis=account.crisis)
        # The receipt goes on the record here, in PostgreSQL, so the case's
        # first workflow task only sets its timers: a storm costs the
        # Temporal server little more than starting the workflows.
        # Its data key, under the municipality's key (the case id names
        # none), before anything of it is stored (its content, sealed, issue
        # 10) or reaches Temporal (codec.py).
        codec = self._client.data_converter.payload_codec
        await claim_scope(codec, command.case_id, account.municipality_id)
        recorded = await record_receipt(self._pool, self._store, command,
                                        stored_at=pending.received_at,
                                        data_keys=data_keys_of(codec))
        if m.kind is MessageKind.POST and m.from_staff:
            await self._record_post(account, m)
        try:
            handle = await start_message_case(self._client, command,
                                              task_queue=self._task_queue,
                                              diarium_prefix=account.diarium_prefix,
                                              receipt_recorded=recorded,
                                              account_workflow_id=account.workflow_id)
        except WorkflowAlreadyStartedError:
            return None  # its case ran and ended: a late redelivery, nothing to do
        return _Started(handle=handle, counts_for_storm=recorded and not m.from_staff,
                        received_at=pending.received_at)

    async def _after_starts(self, account: AccountContext,
                            started: list[tuple[PendingMessage, _Started]]) -> None:
        """Once per account and batch: a crisis switched since the account
        was read reaches its new cases (R-39), and the storm check runs at
        the newest receipt that counts (R-40)."""
        await self._crisis_since_start([case.handle for _, case in started], account)
        counted = [case.received_at for _, case in started if case.counts_for_storm]
        if counted:
            await self._storm_check(account, at=max(counted))

    async def _record_post(self, account: AccountContext, m: InboundMessage) -> None:
        """R-18: the account's own post, seen by the connector, counts towards
        its posting rhythm: `record_post` on the account's case by Kanalvakt,
        once per post id (the account decides a repeat records nothing, so a
        redelivery or a retried row is harmless). Before the message case is
        started, so a retry after a failure here still reaches it. A refusal
        (the account no longer active, a post dated ahead) is logged: the
        post stays on the record as a staff post (R-21) either way."""
        if account.workflow_id is None:
            return
        handle = self._client.get_workflow_handle(account.workflow_id)
        try:
            await handle.execute_update("record_post", acc.RecordPost(
                actor=acc.SYSTEM, post_id=m.external_id, published_at=m.published_at))
        except WorkflowUpdateFailedError as refused:
            log.warning("post not recorded on the account", account_id=account.account_id,
                        external_id=m.external_id, error=str(refused.cause or refused))
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND and "already completed" not in str(error):
                raise  # the server is away: the row is retried
            log.warning("post not recorded: the account's case is not running",
                        account_id=account.account_id, external_id=m.external_id)

    async def _crisis_since_start(self, handles: list[Any], account: AccountContext) -> None:
        """R-39: a crisis switched between reading it and starting the cases
        reaches the cases here; one switched later, through the crisis
        workflow, which finds the cases' receipts on the record."""
        now = await covering_crisis(self._pool, account.municipality_id, account.unit_id)
        if now != account.crisis:
            for handle in handles:
                await handle.signal("crisis_changed", CrisisStatus(mode=now))

    async def _storm_check(self, account: AccountContext, *, at: Any) -> None:
        """R-40: evaluated here, where every received message passes, over the
        account's per-minute counts of the window (kept by the projection as
        messages arrive: the same cost at 10,000 as at 100); only a storm not
        already cooling down is reported, and the crisis workflow flags it once."""
        until = await storm_cooldown_until(self._pool, account.account_id)
        if until is not None and at < until:
            return
        policy = account.crisis_policy
        counts = await window_counts(self._pool, account.account_id, at, policy.storm)
        signal = cr.storm_check_counts(counts, at, policy, until)
        if signal is None:
            return
        settings = await crisis_settings(self._pool, account.municipality_id)
        if settings is None:
            return
        log.warning("storm of criticism", account_id=account.account_id,
                    messages=signal.messages, critical=signal.critical)
        await signal_storm(self._client, settings,
                           await crisis_record(self._pool, account.municipality_id),
                           StormReport(account_id=account.account_id, unit_id=account.unit_id,
                                       signal=signal), task_queue=self._task_queue)

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 0.2,
                  pause_seconds: float = 2) -> None:
        """Feed until `stop` is set; sleeps only while there is nothing to do,
        and pauses while PostgreSQL or Temporal is away. Nothing a row or a
        server does ends this loop."""
        while not stop.is_set():
            try:
                if await self.feed_once() == 0:
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
                continue
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except FeederPaused as paused:
                log.warning("feeder paused", reason=str(paused))
            except Exception as error:  # the feeder outlives any failure
                log.error("feeder paused", reason=describe(error))
            try:
                await asyncio.wait_for(stop.wait(), timeout=pause_seconds)
            except TimeoutError:
                pass


@dataclass(frozen=True)
class _Started:
    """A case the feeder started (or found running) for a row."""

    handle: Any
    counts_for_storm: bool  # a citizen's message whose receipt this row recorded
    received_at: datetime


class FeederPaused(Exception):
    """A batch met an outage; its rows were handed back."""


def _key(m: InboundMessage) -> RowKey:
    return RowKey(m.platform.value, m.external_id)
