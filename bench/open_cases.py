"""Many open cases: the worker's memory with N message cases waiting on
their timers, and how late their reminders are recorded (issue 15). A
script, not a test:

    .venv/bin/python -m bench.open_cases --cases 2000

1. Brings up the local stack in a fresh temporary state folder on free
   ports, as bench/storm.py does (its helpers), and takes one or more
   Facebook accounts to active over the web API.
2. With --crisis (needed outside office hours: Sunday morning has no
   office-hours deadline for minutes ahead), declares a crisis for the
   municipality over the web API, so answers are due within the crisis
   period around the clock (R-39), as the feeder would then give them.
3. Loads N message cases directly, the way the feeder starts them
   (feeder: the account's context, the receipt on the record
   with `record_receipt`, the payload data key, `start_message_case` on the
   worker's task queue), C at a time. Each message's publication time is
   chosen so that the first step of its deadline plan (R-22: the reminder
   to the admins; with --crisis the crisis reminder) falls at a target
   time: the targets are spread over --spread seconds starting
   --lead-minutes after the load is expected to end (estimated from a
   first measured share of the load).
4. Measures the worker's RSS (psutil, the worker process and its
   children) once every case is started and waiting, and every 2 s after;
   then waits for every case's first step to be recorded and reports the
   lag from each step's due time to its event on the record
   (`events.recorded_at - data.due` of MessageReminderSent /
   MessageEscalated): p50, p99, max; also against the due time the loader
   planned (the domain's deadline plan at load).
5. The mail lag (issue 13): the stack runs its SMTP server (.eml files in
   the state folder's mail/) and the worker its outbox sender; for each
   first step, the outbox's e-mail rows of that event (outbox.event_id =
   the event's event_id) are waited for, and `sent_at - due` (the planned
   due) is reported (p50, p99, max; rows sent against rows expected, i.e.
   the notifications of those events), and every sent row's mail (its
   batch's Message-ID) is looked up among the .eml files. The recipients
   are the account's admins, whom deploy/directory gives e-mail addresses.
6. With --storm-rate R --storm-messages N, bench.storm's storm phase
   (`run_storm`: its own account, N signed webhook deliveries at R/s, the
   inbox and the settled cases) runs against the same stack while the
   first steps fall due: its first delivery is timed to start --storm-lead
   seconds before the first step is due. The storm's own figures are
   reported beside the lags.
7. With --firing K, only K of the N cases have their first step in the
   measured window. The other N-K are loaded first, as background:
   ordinary cases published "now" without the crisis, so their first
   step falls in the next working day's office hours (R-22), out of the
   window. The loader waits until the worker has caught up, then starts
   the K with their first steps --lead-minutes later, over --spread
   seconds. That is the realistic shape: many cases open on their timers,
   a few falling due each second, rather than every open case falling due
   in one minute. RSS is read with all N open; the lag is the K's.
   In both modes the loader holds back, as the feeder does, while the
   task queue's workflow-task backlog is above --max-backlog, so the cases
   are open on their timers rather than queued for their first task.
8. Writes bench/results/open-cases-<UTC timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import email.parser
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

import settings
from adapters.mail import message_id
from bench.storm import (
    CpuSampler,
    exit_now,
    free_ports,
    fresh_stack_environment,
    keep_or_remove,
    logged,
    machine_details,
    percentile,
    run_storm,
    write_results,
)
from codec import claim_scope
from deploy.stack import Stack, StackError, find_temporal_binary, payload_keys
from deploy.temporal import connect
from domain import message as msg
from domain.inbound import InboundMessage, MessageKind
from feeder import account_for, message_workflow_id
from store.db import create_pool
from store.eventstore import EventStore
from store.projections import all_projections
from store.receipts import record_receipt
from workflows.starter import start_message_case


def say(message: str) -> None:
    print(f"[open-cases] {message}", file=sys.stderr, flush=True)


CRISIS_ACTOR = "eva.marklund"  # Exempelby's crisis management (deploy/directory)
PAGE_BASE = 104_000_000_100_000  # the accounts' platform ids: PAGE_BASE + n


def _as(actor: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": actor}


async def activate_account(http: httpx.AsyncClient, n: int) -> str:
    """Account n taken to active, as bench.storm.activate_account does."""
    # The tests' helpers are not installed with Kanalvakt: imported when the
    # benchmark runs, from a source tree.
    from tests.support import REQUESTER, activation_steps, request_fields

    r = await http.post("/api/accounts", headers=_as(REQUESTER), json={
        **request_fields(platform="facebook", account_name=f"Kulturhuset {n}"),
        "municipality_id": "exempelby"})
    if r.status_code not in (201, 202):
        raise RuntimeError(f"account request: {r.status_code} {r.text}")
    account_id: str = r.json()["account_id"]
    for path, actor, body in activation_steps(str(PAGE_BASE + n), datetime.now(UTC).date()):
        if path == "activate":
            body = {**body, "handle": f"@kulturhus{n}",
                    "url": f"https://www.facebook.com/kulturhus{n}"}
        r = await http.post(f"/api/accounts/{account_id}/{path}", headers=_as(actor), json=body)
        for _ in range(120):  # a 202 above: the account appears when its case is written
            if r.status_code != 404:
                break
            await asyncio.sleep(0.5)
            r = await http.post(f"/api/accounts/{account_id}/{path}", headers=_as(actor),
                                json=body)
        if r.status_code != 200:
            raise RuntimeError(f"account {path}: {r.status_code} {r.text}")
    return account_id


def first_due(command: Any) -> datetime | None:
    """When the case's first reminder or escalation falls, by the domain."""
    state = msg.evolve(None, msg.decide(None, command, now=command.message.published_at)[0])
    steps = msg.deadline_plan(state)
    return min((s.due for s in steps), default=None)


def published_for(make: Any, target: datetime, now: datetime) -> datetime | None:
    """A publication time (not after `now`) whose first step falls at
    `target` (within a second), by bisection on the domain's deadline plan;
    None when no such time exists (the target lies outside office hours)."""
    low, high = now - timedelta(days=30), now
    for _ in range(60):
        mid = low + (high - low) / 2
        due = first_due(make(mid))
        if due is None:
            return None
        if due < target:
            low = mid
        else:
            high = mid
        if high - low < timedelta(milliseconds=200):
            break
    due = first_due(make(high))
    return high if due is not None and abs((due - target).total_seconds()) <= 1.0 else None


@dataclasses.dataclass
class Loaded:
    case_ids: list[str]
    due: dict[str, datetime]
    began: float
    ended: float
    # --firing: the first step of the earliest background case (None without).
    background_first_due: datetime | None = None


async def workflow_backlog(client: Any, task_queue: str) -> int | None:
    """The task queue's workflow-task backlog (Temporal's approximate count)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    try:
        d = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, report_stats=True))
    except Exception:
        return None
    return int(d.stats.approximate_backlog_count) if d.HasField("stats") else None


async def load(pool: asyncpg.Pool, client: Any, task_queue: str, pages: list[str], count: int,
               concurrency: int, lead: timedelta, spread: float, rate_guess: float,
               firing: int = 0, max_backlog: int = 500) -> Loaded:
    """Start `count` cases spread over the accounts, as the feeder does.

    Like the feeder, the loader holds back while the worker is behind: it
    starts no case while the task queue's workflow-task backlog is above
    `max_backlog`, so the cases are open on their timers, not queued for
    their first task (a loader without that measured the backlog: 42,000
    first tasks queued for half an hour, the deadline steps behind them).

    Without `firing`, every case's first step falls in the window (targets
    from `rate_guess`). With `firing` > 0, the other cases are loaded first
    as background (ordinary cases, no crisis: their first step falls in the
    next working day's office hours, out of the window), the loader waits
    until the worker has caught up, and then the `firing` cases are started
    with their first steps `lead` after that, over `spread` seconds."""
    store = EventStore(pool, all_projections())
    contexts = {}
    for page in pages:
        probe = InboundMessage(platform="facebook", external_id="probe", kind=MessageKind.COMMENT,
                               account_ref=page, text="?", published_at=datetime.now(UTC))
        contexts[page] = await account_for(pool, probe)
    began = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)
    case_ids: list[str] = []
    due: dict[str, datetime] = {}
    done = 0
    background_first: datetime | None = None

    def command(i: int, published: datetime, *, crisis: bool = True) -> msg.ReceiveMessage:
        page = pages[i % len(pages)]
        a = contexts[page]
        m = InboundMessage(platform="facebook", external_id=f"{page}_{i}",
                           kind=MessageKind.COMMENT, account_ref=page,
                           author_id=f"55500{i}", author_name="Karin Medborgare",
                           text="När öppnar simhallen igen?", published_at=published)
        return msg.ReceiveMessage(
            actor=msg.SYSTEM, case_id=message_workflow_id(m.platform, m.external_id),
            account_id=a.account_id, municipality_id=a.municipality_id, country=a.country,
            timezone=a.timezone, message=m, policy=a.policy, authorities=a.authorities,
            crisis=a.crisis if crisis else None)

    async def start(cmd: msg.ReceiveMessage) -> None:
        nonlocal done
        a = contexts[cmd.message.account_ref]
        async with gate:
            await record_receipt(pool, store, cmd, stored_at=datetime.now(UTC))
            await claim_scope(client.data_converter.payload_codec, cmd.case_id,
                              a.municipality_id)
            await start_message_case(client, cmd, task_queue=task_queue,
                                     diarium_prefix=a.diarium_prefix, receipt_recorded=True,
                                     account_workflow_id=a.workflow_id)
        case_ids.append(cmd.case_id)
        done += 1

    async def held_back() -> None:
        """Wait while the worker is more than `max_backlog` first tasks behind."""
        while True:
            backlog = await workflow_backlog(client, task_queue)
            if backlog is None or backlog <= max_backlog:
                return
            await asyncio.sleep(1.0)

    async def in_slices(indices: list[int], one: Any) -> None:
        # In slices (memory for pending tasks stays small at 100,000), each
        # after the worker has caught up to `max_backlog`.
        for k in range(0, len(indices), 250):
            await held_back()
            await asyncio.gather(*(one(i) for i in indices[k:k + 250]))

    async def report() -> None:
        while True:
            await asyncio.sleep(3)
            took = time.perf_counter() - began
            say(f"loaded {done}/{count} cases ({done / took:.0f}/s); workflow-task backlog "
                f"{await workflow_backlog(client, task_queue)}")

    firing_ids = (set(range(count)) if not firing or firing >= count
                  else {j * count // firing for j in range(firing)})
    reporter = asyncio.ensure_future(report())
    try:
        if len(firing_ids) < count:
            async def background(i: int) -> None:
                nonlocal background_first
                cmd = command(i, datetime.now(UTC), crisis=False)
                first = first_due(cmd)
                if first is not None and (background_first is None or first < background_first):
                    background_first = first
                await start(cmd)
            await in_slices([i for i in range(count) if i not in firing_ids], background)
            say(f"{done} background cases started; waiting for the worker to catch up")
            while True:
                if await workflow_backlog(client, task_queue) in (0, None):
                    break
                await asyncio.sleep(1.0)
            target0 = datetime.now(UTC) + lead
        else:
            target0 = datetime.now(UTC) + timedelta(seconds=count / rate_guess) + lead
        say(f"targets: first steps due from {target0:%H:%M:%S} UTC over {spread:.0f} s "
            f"({len(firing_ids)} cases)")
        # The delay from publication to the first step, found once by
        # bisection and checked (and searched again if need be) for every case.
        published0 = published_for(lambda p: command(0, p), target0, datetime.now(UTC))
        if published0 is None:
            raise RuntimeError(
                f"no publication time gives a first deadline step at {target0:%Y-%m-%d %H:%M} "
                "UTC (outside the account's office hours): run in office hours on a working "
                "day, or pass --crisis for deadlines around the clock")
        delay = target0 - published0
        order = {i: n for n, i in enumerate(sorted(firing_ids))}

        async def in_window(i: int) -> None:
            target = target0 + timedelta(seconds=spread * order[i] / max(len(order), 1))
            cmd = command(i, target - delay)
            first = first_due(cmd)
            if first is None or abs((first - target).total_seconds()) > 1.0:
                published = published_for(lambda p: command(i, p), target, datetime.now(UTC))
                if published is None:
                    raise RuntimeError(f"case {i}: no publication time for {target}")
                cmd = command(i, published)
                first = first_due(cmd)
            assert first is not None
            await start(cmd)
            due[cmd.case_id] = first
        await in_slices(sorted(firing_ids), in_window)
    finally:
        reporter.cancel()
    ended = time.perf_counter()
    if datetime.now(UTC) >= target0:
        say("WARNING: the load ended after the first targets: their lag includes the load")
    window_end = target0 + timedelta(seconds=spread)
    if background_first is not None and background_first <= window_end:
        say(f"WARNING: background cases fall due from {background_first:%H:%M:%S} UTC, "
            f"inside the window (ends {window_end:%H:%M:%S})")
    return Loaded(case_ids, due, began, ended, background_first)


def lag_figures(values: list[float]) -> dict[str, Any]:
    """p50/p99/max/min of lags in seconds (percentile() takes percents)."""
    values = sorted(values)
    return {"n": len(values), "p50": _r3(percentile(values, 50)),
            "p99": _r3(percentile(values, 99)),
            "max": _r3(values[-1] if values else None), "min": _r3(values[0] if values else None)}


def _r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


FIRST_STEPS = """
    SELECT DISTINCT ON (stream_id) stream_id, event_id, recorded_at,
           (data->>'due')::timestamptz AS due
    FROM events WHERE event_type IN ('MessageReminderSent', 'MessageEscalated')
      AND stream_id = ANY($1::text[])
    ORDER BY stream_id, global_position"""


def message_ids(mail_dir: Path) -> tuple[int, set[str]]:
    """The local SMTP server's folder: one .eml per mail (a batch of a
    person's rows, recognised by the batch's Message-ID); how many files,
    and their Message-IDs."""
    parser = email.parser.BytesHeaderParser()
    found = set()
    files = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
    for path in files:
        with path.open("rb") as f:
            found.add(str(parser.parse(f).get("Message-ID", "")).strip())
    return len(files), found


async def mail_lag(pool: asyncpg.Pool, due: dict[str, datetime], mail_dir: Path,
                   from_address: str, wait: float) -> dict[str, Any]:
    """Issue 13: from each loaded case's first step (planned due) to its
    mails' `sent_at` in the outbox; waits up to `wait` s for rows still
    pending, then checks the SMTP server's .eml files for their batches."""
    cases = list(due)
    end = time.monotonic() + wait
    while True:
        counts = await pool.fetchrow(
            f"""WITH steps AS ({FIRST_STEPS})
                SELECT (SELECT count(*) FROM steps) AS steps,
                       (SELECT count(*) FROM notifications n JOIN steps s USING (event_id))
                           AS notifications,
                       count(o.id) AS rows,
                       count(o.id) FILTER (WHERE o.status = 'sent') AS sent,
                       count(o.id) FILTER (WHERE o.status = 'failed') AS failed
                FROM steps s JOIN outbox o ON o.event_id = s.event_id AND o.channel = 'email'
            """, cases)
        if counts["sent"] + counts["failed"] >= counts["notifications"] \
                or time.monotonic() > end:
            break
        say(f"mails: {counts['sent']} sent, {counts['failed']} failed of "
            f"{counts['notifications']} notifications")
        await asyncio.sleep(2)
    rows = await pool.fetch(
        f"""WITH steps AS ({FIRST_STEPS})
            SELECT s.stream_id, s.due AS event_due, o.recipient, o.status, o.sent_at, o.batch,
                   o.last_error
            FROM steps s JOIN outbox o ON o.event_id = s.event_id AND o.channel = 'email'""",
        cases)
    sent = [r for r in rows if r["status"] == "sent"]
    lags = [(r["sent_at"] - due[r["stream_id"]]).total_seconds() for r in sent]
    lags_event_due = [(r["sent_at"] - r["event_due"]).total_seconds() for r in sent
                      if r["event_due"] is not None]
    errors: dict[str, int] = {}
    for r in rows:
        if r["status"] != "sent":
            key = f"{r['status']}: {r['last_error']}"
            errors[key] = errors.get(key, 0) + 1
    files, found = message_ids(mail_dir)
    batches = {r["batch"] for r in sent}
    in_folder = sum(1 for b in batches if message_id(b, from_address) in found)
    return {
        "first_steps_recorded": counts["steps"], "notifications_expected": counts["notifications"],
        "outbox_rows": counts["rows"], "sent": len(sent), "failed": counts["failed"],
        "not_sent_kinds": errors,
        "recipients": sorted({r["recipient"] for r in rows}),
        "lag_s_from_planned_due": lag_figures(lags),
        "lag_s_from_event_due": lag_figures(lags_event_due),
        "mails": {"batches_sent": len(batches), "found_in_smtp_folder": in_folder,
                  "eml_files_in_folder": files},
    }


def rss_of(pid: int) -> int:
    """The worker's resident memory, with its children (none expected)."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


async def amain(args: argparse.Namespace) -> int:
    base = fresh_stack_environment("kanalvakt-open-cases-")
    state_dir = base.state_dir
    config = dataclasses.replace(
        base,
        worker_command=logged(state_dir / "worker.log", base.effective_worker_command),
        web_command=logged(state_dir / "web.log", base.effective_web_command),
        # Issue 13: the stack's own SMTP server (.eml files in state_dir/mail).
        start_smtp=True, smtp_port=free_ports(1)[0])
    try:
        temporal_bin = find_temporal_binary()
    except StackError:
        temporal_bin = None
    started_utc = datetime.now(UTC)
    result: dict[str, Any] = {
        "benchmark": "open_cases", "started_utc": started_utc.isoformat(timespec="seconds"),
        "machine": machine_details(temporal_bin),
        "parameters": {"cases": args.cases, "accounts": args.accounts,
                       "concurrency": args.concurrency, "crisis": args.crisis,
                       "lead_minutes": args.lead_minutes, "spread_s": args.spread,
                       "firing": args.firing,
                       "max_backlog": args.max_backlog,
                       "storm_rate": args.storm_rate, "storm_messages": args.storm_messages,
                       "storm_concurrency": args.storm_concurrency,
                       "storm_lead_s": args.storm_lead},
    }
    say(f"state folder {state_dir}")
    stack = Stack(config, asyncio.Event())
    code = 0
    keep = args.keep_state
    storm: asyncio.Task[dict[str, Any]] | None = None
    cpu_task: asyncio.Future[None] | None = None
    try:
        await stack.start()
        result["machine"]["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
        assert stack.database_url is not None
        os.environ.update(DATABASE_URL=stack.database_url,
                          TEMPORAL_ADDRESS=config.effective_temporal_address,
                          KANALVAKT_PAYLOAD_KEYS=os.environ.get("KANALVAKT_PAYLOAD_KEYS")
                          or payload_keys(state_dir))
        pids = {c.name: c.process.pid for c in stack.children}
        worker_pid = pids["worker"]
        cfg = settings.load()
        pool = await create_pool(stack.database_url, min_size=2, max_size=args.concurrency)
        client = await connect(config.effective_temporal_address)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{base.web_port}",
                                     timeout=60) as http:
            for n in range(args.accounts):
                await activate_account(http, n)
            if args.crisis:
                r = await http.post("/api/municipalities/exempelby/crisis",
                                    headers=_as(CRISIS_ACTOR),
                                    json={"reason": "Belastningsprov (open cases)"})
                if r.status_code not in (200, 201, 202):
                    raise RuntimeError(f"crisis: {r.status_code} {r.text}")
                for _ in range(100):  # the crisis on the record, where the feeder reads it
                    if await pool.fetchval("SELECT count(*) FROM crisis_modes "
                                           "WHERE ended_at IS NULL"):
                        break
                    await asyncio.sleep(0.2)
        rss_before = rss_of(worker_pid)
        pages = [str(PAGE_BASE + n) for n in range(args.accounts)]
        loaded = await load(pool, client, cfg.task_queue, pages, args.cases, args.concurrency,
                            timedelta(minutes=args.lead_minutes), args.spread, args.rate_guess,
                            args.firing, args.max_backlog)
        took = loaded.ended - loaded.began
        say(f"{len(loaded.case_ids)} cases started in {took:.1f} s "
            f"({len(loaded.case_ids) / took:.0f}/s)")
        # Every case past its first task (its timers set) before RSS is read.
        await asyncio.sleep(5)
        rss_samples = [rss_of(worker_pid)]
        first_target = min(loaded.due.values())
        last_target = max(loaded.due.values())
        if args.storm_messages:
            # bench.storm's storm phase against this stack, its first
            # delivery --storm-lead s before the first step is due.
            groups = {name: (pids[key], True) for name, key in
                      (("temporal", "Temporal dev server"), ("worker", "worker"),
                       ("web", "web app")) if key in pids}
            groups["bench"] = (os.getpid(), False)
            cpu = CpuSampler(groups)
            cpu_task = asyncio.ensure_future(cpu.run())
            start_at = first_target.timestamp() - args.storm_lead
            storm = asyncio.create_task(run_storm(
                stack, args.storm_messages, args.storm_concurrency, args.storm_seed,
                args.storm_rate, 180.0, cpu, start_at=start_at))
        say(f"waiting for the first steps, due {first_target:%H:%M:%S} to "
            f"{last_target:%H:%M:%S} UTC; worker RSS {rss_samples[0] / 2**20:.0f} MiB")
        deadline = last_target + timedelta(seconds=args.wait_after)
        lags: dict[str, float] = {}
        last_recorded: datetime | None = None
        while datetime.now(UTC) < deadline and len(lags) < len(loaded.due):
            await asyncio.sleep(2)
            rss_samples.append(rss_of(worker_pid))
            if storm is not None and storm.done():
                storm.result()  # a failed storm ends the run here
            rows = await pool.fetch(FIRST_STEPS, list(loaded.due))
            lags = {r["stream_id"]: (r["recorded_at"] - r["due"]).total_seconds()
                    for r in rows}
            planned = {r["stream_id"]: (r["recorded_at"] - loaded.due[r["stream_id"]])
                       .total_seconds() for r in rows}
            last_recorded = datetime.now(UTC) if rows else None
            if datetime.now(UTC) > first_target:
                say(f"{len(lags)}/{len(loaded.due)} first steps recorded; worker RSS "
                    f"{rss_samples[-1] / 2**20:.0f} MiB")
        values = sorted(lags.values())
        say("the mail of each first step: waiting for the outbox")
        result["mail_lag"] = await mail_lag(pool, loaded.due, state_dir / "mail",
                                            cfg.mail_from, wait=args.mail_wait)
        if storm is not None:
            say("waiting for the storm to end")
            result["storm"] = await storm
        result["load"] = {"cases": len(loaded.case_ids), "seconds": round(took, 1),
                          "cases_per_s": round(len(loaded.case_ids) / took, 1)}
        result["background_first_due_utc"] = (loaded.background_first_due.isoformat()
                                              if loaded.background_first_due else None)
        result["worker_rss_mib"] = {
            "before_load": round(rss_before / 2**20, 1),
            "with_open_cases": round(rss_samples[0] / 2**20, 1),
            "max_while_firing": round(max(rss_samples) / 2**20, 1)}
        # percentile() takes percents: 50, 99 (0.50 and 0.99 before 2026-12-06
        # gave nearly the minimum).
        result["first_step_lag_s"] = {
            "recorded": len(values), "expected": len(loaded.due),
            "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": values[-1] if values else None, "min": values[0] if values else None,
            "from_planned_due": lag_figures(list(planned.values())),
            "first_due_utc": first_target.isoformat(), "last_due_utc": last_target.isoformat(),
            "all_seen_recorded_at_utc": (last_recorded.isoformat()
                                    if last_recorded and len(values) == len(loaded.due)
                                    else None)}
        result["targets"] = {
            "rss_below_1GiB": max(rss_samples) < 2**30,
            "lag_max_below_2s": bool(values) and values[-1] < 2.0
            and len(values) == len(loaded.due)}
        await pool.close()
    except StackError as exc:
        say(f"cannot start the stack: {exc}")
        code, keep = 1, True
    except Exception:
        say("failed:\n" + traceback.format_exc())
        code, keep = 1, True
    finally:
        if storm is not None and not storm.done():
            storm.cancel()
        if cpu_task is not None:
            cpu_task.cancel()
        say("stopping the stack")
        try:
            await stack.stop()
        except BaseException:
            say("stopping failed:\n" + traceback.format_exc())
            code, keep = code or 1, True
    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({k: result.get(k) for k in ("load", "worker_rss_mib",
                                                  "first_step_lag_s", "mail_lag", "targets")},
                     indent=2, default=str), flush=True)
    if "storm" in result:
        s = result["storm"]
        print(json.dumps({"storm": {k: s.get(k) for k in (
            "messages", "rate_limit_per_s", "acked", "errors", "intake_rate_per_s", "ack_ms",
            "cases_in_inbox", "messages_per_s", "case_latency_s", "settled_latency_s",
            "settled_messages_per_s", "cpu_cores")}}, indent=2, default=str), flush=True)
    if "load" in result:
        write_results("open-cases", result, started_utc, tell=say)
    keep_or_remove(state_dir, keep, tell=say)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.open_cases",
        description="N message cases started directly and left open on their timers: the "
                    "worker's RSS and the lag from each first deadline to its recorded event.")
    parser.add_argument("--cases", type=int, default=2000, help="cases to start (default 2000)")
    parser.add_argument("--accounts", type=int, default=1,
                        help="accounts the cases are spread over (default 1)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="receipts and starts in flight (default 32)")
    parser.add_argument("--crisis", action="store_true",
                        help="declare a crisis first, so answers are due around the clock "
                             "(R-39); needed outside office hours")
    parser.add_argument("--lead-minutes", type=float, default=3.0,
                        help="first deadlines fall this long after the expected end of the "
                             "load (default 3)")
    parser.add_argument("--firing", type=int, default=0,
                        help="only this many of the cases (evenly spaced) fall due in the "
                             "window, the others later (default 0: all of them)")
    parser.add_argument("--max-backlog", type=int, default=500,
                        help="start no case while the workflow-task backlog is above this "
                             "(default 500)")
    parser.add_argument("--spread", type=float, default=60.0,
                        help="seconds the first deadlines are spread over (default 60)")
    parser.add_argument("--rate-guess", type=float, default=50.0,
                        help="starts per second assumed to place the deadlines after the "
                             "load (default 50; too high and the load overruns them)")
    parser.add_argument("--wait-after", type=float, default=900.0,
                        help="seconds to wait for late steps after the last is due "
                             "(default 900)")
    parser.add_argument("--mail-wait", type=float, default=120.0,
                        help="seconds to wait for the first steps' mails after the last "
                             "step is on the record (default 120)")
    parser.add_argument("--storm-messages", type=int, default=0,
                        help="run bench.storm's storm phase (its own account, this many "
                             "signed webhook deliveries) while the first steps fall due "
                             "(default 0: no storm)")
    parser.add_argument("--storm-rate", type=float, default=20.0,
                        help="the storm's deliveries per second, open loop (default 20; "
                             "0 = as fast as acknowledged)")
    parser.add_argument("--storm-concurrency", type=int, default=64,
                        help="the storm's deliveries in flight (default 64)")
    parser.add_argument("--storm-lead", type=float, default=30.0,
                        help="the storm's first delivery this many seconds before the first "
                             "step is due (default 30)")
    parser.add_argument("--storm-seed", type=int, default=20261121)
    parser.add_argument("--keep-state", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    exit_now(main())
