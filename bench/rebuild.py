"""Rebuild benchmark: how fast `kanalvakt rebuild-read-models` replays the
record into the read models (issue 15: at least 20,000 events/s). A script,
not a test:

    .venv/bin/python -m bench.rebuild --events 100000

1. Starts an embedded PostgreSQL (pgserver) in a temporary folder, applies
   the migrations and loads the sample directory of Exempelby.
2. Generates N events of a realistic mix through the domain (`generate`):
   a few active accounts with check-ins, posts, reminders, escalations and
   watch items (domain.account), and message cases arriving, screened,
   acknowledged, answered, forwarded and drafted, registered, hidden,
   removed, watched, closed, reminded, escalated and chased
   (domain.message; 5 % of the messages no one sees), interleaved in time
   like a real record: citizens write at any hour, mostly by day; admins
   act and check in (every decision is a check-in, R-15) in office hours. The events go
   into the `events` table with COPY (the read models stay empty: appending
   100,000 events one transaction at a time through the live projections
   would measure the append, not the rebuild). `--live` appends them
   through EventStore.append with every projection instead.
3. Times `rebuild-read-models` (cli.rebuild_read_models, with its progress
   lines on stderr) and prints events/s, the script's CPU seconds and
   PostgreSQL's (from /proc) and events per CPU-second (a run on a shared,
   loaded machine still says something); with --live, first checks that the
   rebuilt tables equal the incrementally written ones, row for row.
4. Writes bench/results/rebuild-<UTC timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import logging
import os
import random
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.storm import keep_or_remove, machine_details, write_results
from cli import rebuild_read_models
from domain import account as acc
from domain import message as msg
from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.directory import Country, Directory
from domain.inbound import InboundMessage, MessageKind
from domain.redaction import RemovalCategory
from store.db import binary_jsonb, create_pool, migrate
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections

TZ = ZoneInfo("Europe/Stockholm")
SYSTEM = "kanalvakt"
_REFUSED = (NotAuthorised, RuleViolation, WrongStage, ValueError)

_TEXTS = (
    "När öppnar simhallen igen efter renoveringen?",
    "Tack för en fin konsert i lördags!",
    "Varför plogas inte vår gata? Det är tredje gången i vinter.",
    "Kan jag boka lokalen på kulturhuset för en födelsedagsfest?",
    "Ring mig på 070-123 45 67 om bygglovet, tack.",
    "Skandal att biblioteket stänger på söndagar, helt oacceptabelt.",
    "Köp billiga solglasögon på www.example.com, rabattkod SOL",
    "Hur ansöker man om bidrag till föreningen?",
)


def _new(events: Sequence[Any], rng: random.Random) -> list[NewEvent]:
    return [NewEvent(event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                     event_type=e.type, data=e.model_dump(mode="json"), occurred_at=e.at,
                     actor=e.actor) for e in events]


class _Sink:
    """Where generated events go: EventStore.append with every projection
    (live), or rows for one COPY into `events` (bulk)."""

    def __init__(self, pool: asyncpg.Pool, live: bool) -> None:
        self.pool, self.live = pool, live
        self.store = EventStore(pool, all_projections())
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0

    async def append(self, stream_id: str, expected: int, events: list[NewEvent]) -> None:
        key = str(uuid.uuid4())
        self.count += len(events)
        if self.live:
            await self.store.append(stream_id, expected, events, key)
            return
        for i, e in enumerate(events):
            self.rows.append((stream_id, expected + 1 + i, e.event_id, e.event_type,
                              e.schema_version, e.data, e.actor, None, None, key, i,
                              e.occurred_at))
        if len(self.rows) >= 20_000:
            await self.flush()

    async def flush(self) -> None:
        if not self.rows:
            return
        async with self.pool.acquire() as conn, binary_jsonb(conn):
            await conn.copy_records_to_table(
                "events", records=self.rows,
                columns=["stream_id", "version", "event_id", "event_type", "schema_version",
                         "data", "actor", "causation_id", "correlation_id", "idempotency_key",
                         "batch_index", "occurred_at"])
        self.rows.clear()


class _Stream:
    def __init__(self, stream_id: str, state: Any) -> None:
        self.stream_id, self.state = stream_id, state


async def _do(sink: _Sink, stream: _Stream, decide: Callable[..., list[Any]],
              evolve: Callable[[Any, Any], Any], command: Any, now: datetime,
              rng: random.Random, record: Callable[[Any], Any] = lambda e: e) -> list[Any]:
    """Decide `command` on the stream at `now`, append, fold; [] if refused."""
    try:
        events = decide(stream.state, command, now=now)
    except _REFUSED:
        return []
    if not events:
        return []
    version = stream.state.version if stream.state is not None else 0
    await sink.append(stream.stream_id, version, _new([record(e) for e in events], rng))
    for e in events:
        stream.state = evolve(stream.state, e)
    return events


async def _active_account(sink: _Sink, directory: Directory, rng: random.Random, n: int,
                          at: datetime) -> _Stream:
    """An active, listed account: the lifecycle's own commands (as
    tests.workflows.test_snapshot_workflow.put_active_account decides them)."""
    # The tests' helpers are not installed with Kanalvakt (see run()).
    from tests.support import (
        COMMS,
        DEPUTY,
        MANAGER,
        REQUESTER,
        assessment,
        full_checklist,
        request_fields,
    )

    account_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    request = acc.AccountRequest.model_validate(request_fields(
        account_name=f"Kulturhuset {n}", platform="facebook"))
    stream = _Stream(f"account-{account_id}", None)
    commands: list[acc.Command] = [
        acc.RequestAccount(actor=REQUESTER, account_id=account_id,
                           municipality_id=directory.municipality.id, country=Country.SE,
                           timezone="Europe/Stockholm", request=request,
                           authorities=directory.authorities("kultur")),
        acc.ApproveRequest(actor=MANAGER, admins_equipped=True),
        acc.RecordRiskAssessment(actor=REQUESTER, **assessment("ros", at.date())),
        acc.RecordRiskAssessment(actor=REQUESTER, **assessment("dpia", at.date())),
        acc.SignOff(actor=COMMS, decision=acc.SignOffDecision.APPROVE,
                    checklist=acc.SignOffChecklist.model_validate(full_checklist())),
        acc.ActivateAccount(actor=COMMS, handle=f"@kulturhus{n}",
                            url=f"https://www.facebook.com/kulturhus{n}",
                            admins=[acc.Admin(person=REQUESTER, two_factor=True),
                                    acc.Admin(person=DEPUTY, two_factor=True)],
                            platform_account_id=f"10400000000{n:04d}"),
    ]
    for command in commands:
        if not await _do(sink, stream, acc.decide, acc.evolve, command, at, rng):
            raise RuntimeError(f"the account's {type(command).__name__} was refused")
    assert stream.state.stage is acc.Stage.ACTIVE, stream.state.stage
    return stream


async def generate(pool: asyncpg.Pool, directory: Directory, events: int, *, seed: int = 15,
                   accounts: int = 10, live: bool = False, neglected: float = 0.05,
                   progress: Callable[[int], Awaitable[None]] | None = None,
                   first_account: int = 0) -> int:
    """About `events` events of a realistic mix on the record (see the module's
    docstring), decided by the domain at increasing times; returns how many.
    Accounts are numbered from `first_account` (another record beside an
    earlier one: other accounts, so other message streams)."""
    rng = random.Random(seed)
    sink = _Sink(pool, live)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)  # a Monday morning
    streams = [await _active_account(sink, directory, rng, first_account + n, now)
               for n in range(accounts)]
    open_cases: list[_Stream] = []
    # The cases' next deadlines (due, tie-break, the state version it was
    # computed for): an entry whose case moved on since is skipped.
    timers: list[tuple[datetime, int, int, _Stream]] = []

    def arm(case: _Stream) -> None:
        due = msg.next_deadline(case.state) if case.state is not None else None
        if due is not None:
            heapq.heappush(timers, (due, next(tie), case.state.version, case))

    tie = itertools.count()
    numbers = 0
    step = 0
    reported = 0
    while sink.count < events:
        step += 1
        # Citizens write at any hour, most by day; admins decide and check in
        # in office hours on weekdays (holidays aside); Kanalvakt's timers
        # fire at any hour.
        office = now.weekday() < 5 and time(8) <= now.time() <= time(16)
        now += timedelta(seconds=rng.choice((20, 40, 90, 300) if office else (300, 900)))
        account = rng.choice(streams)
        a: acc.AccountState = account.state
        roll = rng.random()
        if not office:
            roll = 0.0 if roll < 0.3 else 0.95
        if roll < 0.15 or not open_cases:
            m = a.message_policy or msg.MessagePolicy()
            external = f"{a.platform_account_id}_{step}"
            case = _Stream(f"message:facebook:{external}", None)
            admins = frozenset(a.admins)
            await _do(sink, case, msg.decide, msg.evolve, msg.ReceiveMessage(
                actor=SYSTEM, case_id=case.stream_id, account_id=a.account_id,
                municipality_id=a.municipality_id, country=a.country, timezone=a.timezone,
                message=InboundMessage(
                    platform="facebook", external_id=external, kind=rng.choice(
                        (MessageKind.COMMENT, MessageKind.COMMENT, MessageKind.PRIVATE_MESSAGE)),
                    account_ref=a.platform_account_id or "", author_id=f"55{step}",
                    author_name="Karin Medborgare", text=rng.choice(_TEXTS),
                    published_at=now - timedelta(seconds=30),
                    from_staff=rng.random() < 0.03),
                policy=m, authorities=msg.MessageAuthorities(
                    admins=admins, manager=a.authorities.manager, deputy=a.authorities.deputy,
                    communications=a.authorities.communications,
                    registrars=a.authorities.registrars)),
                now, rng, msg.for_the_record)
            if case.state is not None and not case.state.stage.terminal:
                # Some messages no one sees: only their reminders,
                # escalations and chases happen.
                if rng.random() >= neglected:
                    open_cases.append(case)
                arm(case)
        elif roll < 0.80:
            pick_at = rng.randrange(len(open_cases))
            case = open_cases[pick_at]
            if case.state.done:  # ended by its timers meanwhile
                open_cases[pick_at] = open_cases[-1]
                open_cases.pop()
                continue
            account = next(x for x in streams if x.state.account_id == case.state.account_id)
            a = account.state
            s: msg.MessageState = case.state
            auth = s.authorities
            assert auth is not None
            admin = sorted(auth.admins)[0]
            pick = rng.random()
            command: msg.Command
            if pick < 0.30:
                command = msg.Respond(actor=admin, text="Tack för ditt meddelande! /Elin",
                                      signed=True, signature="Elin")
            elif pick < 0.45:
                command = msg.Acknowledge(actor=admin, text="Tack, vi återkommer.")
            elif pick < 0.55:
                command = (msg.SubmitDraft(actor=s.officer, text="Förslag till svar.")
                           if s.stage is msg.Stage.FORWARDED and s.officer else
                           msg.Forward(actor=admin, officer=auth.manager,
                                       note="Kan du svara på detta?"))
            elif pick < 0.65:
                numbers += 1
                command = msg.Register(actor=sorted(auth.registrars or {admin})[0],
                                       diarium_number=f"KS 2026/{numbers:05d}",
                                       record_class="Synpunkt")
            elif pick < 0.72:
                command = msg.Hide(actor=admin, reason="Personuppgifter", preserved_copy=True)
            elif pick < 0.80:
                command = msg.Redact(actor=admin, category=RemovalCategory.PROFANITY_OR_OBSCENITY,
                                     law="Lag (1998:112) 5 §", reason="Svordomar",
                                     preserved_copy=True)
            elif pick < 0.88:
                command = msg.Watch(actor=admin, reason="Ingen fråga, bara en åsikt")
            else:
                command = msg.CloseCase(actor=auth.manager, reason="Besvarat i telefon")
            if await _do(sink, case, msg.decide, msg.evolve, command, now, rng):
                arm(case)
            if command.actor != SYSTEM and case.state.stage is not msg.Stage.STAFF_POST:
                await _do(sink, account, acc.decide, acc.evolve, acc.RecordCheckIn(
                    actor=admin if admin in a.admins else sorted(a.admins)[0],
                    source=acc.mon.CheckInSource.MODERATION, case_id=case.stream_id,
                    checked_at=now), now, rng)
            if case.state.done:
                open_cases[pick_at] = open_cases[-1]
                open_cases.pop()
        elif roll < 0.87:
            await _do(sink, account, acc.decide, acc.evolve,
                      acc.RecordCheckIn(actor=sorted(a.admins)[0]), now, rng)
        elif roll < 0.91:
            await _do(sink, account, acc.decide, acc.evolve, acc.RecordPost(
                actor=sorted(a.admins)[0], post_id=f"{a.platform_account_id}_p{step}",
                published_at=now), now, rng)
        elif roll < 0.915:
            await _do(sink, account, acc.decide, acc.evolve, acc.ReportWatchItem(
                actor=sorted(a.admins)[0], summary="Fel öppettider i inlägget",
                seen_at=now, in_unit=True), now, rng)
        elif roll < 0.92 and a.monitoring.watch_items:
            item = rng.choice(a.monitoring.watch_items)
            await _do(sink, account, acc.decide, acc.evolve, acc.ResolveWatchItem(
                actor=a.authorities.manager, item_id=item.item_id, note="Rättat"), now, rng)
        else:
            # Time passes: due steps of the account and of its open cases.
            await _do(sink, account, acc.decide, acc.evolve,
                      acc.FireDueDeadlines(actor=SYSTEM, skip_superseded=True), now, rng)
            while timers and timers[0][0] <= now:
                _, _, version, case = heapq.heappop(timers)
                if case.state.version == version:
                    await _do(sink, case, msg.decide, msg.evolve, msg.FireDue(actor=SYSTEM),
                              now, rng)
                    arm(case)
        if progress is not None and sink.count - reported >= 10_000:
            reported = sink.count
            await progress(sink.count)
    await sink.flush()
    return sink.count


# --------------------------------------------------------------------------- the script


def server_cpu(pg_dir: str) -> float:
    """CPU seconds of the PostgreSQL server so far: its processes' own, and
    the ended backends' (the postmaster's children, reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open(os.path.join(pg_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == postmaster:
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


async def amain(args: argparse.Namespace) -> int:
    # pgserver is the optional `local` extra, and the tests' helpers are not
    # installed with Kanalvakt: both only when the benchmark runs.
    import pgserver

    from tests.integration.test_read_model_rebuild_fast import read_model_tables
    from tests.support import EXEMPELBY

    state_dir = tempfile.mkdtemp(prefix="kanalvakt-rebuild-")
    started_utc = datetime.now(UTC)
    server = pgserver.get_server(os.path.join(state_dir, "pg"),
                                 cleanup_mode="stop" if args.keep_state else "delete")
    result: dict[str, Any] = {
        "benchmark": "rebuild", "started_utc": started_utc.isoformat(timespec="seconds"),
        "machine": machine_details(None),
        "parameters": {"events": args.events, "accounts": args.accounts, "seed": args.seed,
                       "live": args.live, "batch": args.batch},
    }
    code = 0
    try:
        dsn = server.get_uri()
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            result["machine"]["postgresql"] = await pool.fetchval("SHOW server_version")
            directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
            await DirectoryRepository(pool).load(directory)
            began = clock.perf_counter()

            async def generated(count: int) -> None:
                say(f"generated {count} events ({clock.perf_counter() - began:.0f} s)")

            count = await generate(pool, directory, args.events, seed=args.seed,
                                   accounts=args.accounts, live=args.live, progress=generated)
            say(f"{count} events on the record in {clock.perf_counter() - began:.1f} s")
            kinds = await pool.fetch("SELECT event_type, count(*) AS n FROM events "
                                     "GROUP BY event_type ORDER BY n DESC")
            result["event_types"] = {r["event_type"]: r["n"] for r in kinds}
            live_tables = await read_model_tables(pool) if args.live else None
        finally:
            await pool.close()
        load_before = os.getloadavg()
        pg_dir = os.path.join(state_dir, "pg")
        began, cpu, pg_cpu = clock.perf_counter(), clock.process_time(), server_cpu(pg_dir)
        replayed = await rebuild_read_models(dsn, progress=sys.stderr, batch=args.batch)
        took = clock.perf_counter() - began
        cpu, pg_cpu = clock.process_time() - cpu, server_cpu(pg_dir) - pg_cpu
        rate = replayed / took
        result["rebuild"] = {"events": replayed, "seconds": round(took, 2),
                             "events_per_s": round(rate), "cpu_s": round(cpu, 2),
                             "events_per_cpu_s": round(replayed / cpu),
                             "postgresql_cpu_s": round(pg_cpu, 2),
                             "events_per_cpu_s_both": round(replayed / (cpu + pg_cpu)),
                             "load_average_before": [round(x, 2) for x in load_before]}
        say(f"rebuilt the read models from {replayed} events in {took:.2f} s: "
            f"{rate:,.0f} events/s; CPU {cpu:.2f} s here ({replayed / cpu:,.0f} events per "
            f"CPU-second), {pg_cpu:.2f} s in PostgreSQL ({replayed / (cpu + pg_cpu):,.0f} "
            f"events per CPU-second of both); load average {load_before[0]:.1f} before")
        if live_tables is not None:
            pool = await create_pool(dsn, min_size=1, max_size=2)
            try:
                same = await read_model_tables(pool) == live_tables
            finally:
                await pool.close()
            result["rebuilt_equals_live"] = same
            say("the rebuilt read models " + ("equal" if same else "DIFFER FROM")
                + " the incrementally written ones")
            code = 0 if same else 1
        result["target_20000_per_s"] = rate >= 20_000
    finally:
        server.cleanup()
    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result["rebuild"]), flush=True)
    write_results("rebuild", result, started_utc, tell=say)
    keep_or_remove(__import__("pathlib").Path(state_dir), args.keep_state, tell=say)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rebuild",
        description="N events of a realistic mix on a fresh embedded PostgreSQL, then "
                    "`rebuild-read-models` timed.")
    parser.add_argument("--events", type=int, default=100_000,
                        help="events to generate (default 100000)")
    parser.add_argument("--accounts", type=int, default=10,
                        help="active accounts the messages are spread over (default 10)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--batch", type=int, default=None,
                        help="events per rebuild batch (default: the rebuild's own)")
    parser.add_argument("--live", action="store_true",
                        help="append through the live projections (slow) and check the "
                             "rebuild gives the same tables")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep the temporary folder with the database")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
