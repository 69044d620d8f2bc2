"""Fault campaign (issue 9): nothing lost, nothing duplicated, nothing stuck.
A script run by hand against the real local stack, not a test:

    .venv/bin/python -m bench.faults --deliveries 3000 --rate 12

What it does, in one run:

1. Brings up the local stack (deploy.stack, as bench/storm.py does: fresh
   temporary state folder, free ports, META_APP_SECRET for the children,
   worker and web logs in files there) and lets the stack supervise it
   (deploy.stack.Stack.supervise: a killed worker, web app or Temporal dev
   server is restarted; the embedded PostgreSQL too). One Facebook account
   is taken to active over the web API (bench.storm.activate_account).
2. Sends N signed webhook deliveries, paced (--rate per second, at most
   --concurrency in flight), like Meta does: a delivery that gets no 200
   (a 5xx, a refused connection, a timeout) is sent again with a doubling
   pause (1 s ... 30 s) until it is acknowledged or --give-up-after seconds
   have passed; a 4xx is an answer (Meta would drop it) and counted. A share
   of the acknowledged deliveries is sent again later (Meta delivers at
   least once). Mixed in are poison rows (--poison, a share of N):
   * `date_1970`: a comment with created_time in 1970 (to be parked, or
     refused in the 200's `errors`);
   * `unknown_page`: a comment for a Page no account has (to be parked
     after the feeder's attempts);
   * `nul`: NUL characters in the comment's text and author name (to be
     normalised at the door and become a case like any other);
   * `mixed`: one delivery with a valid comment and a 1970 one (the valid
     one must become a case).
3. Faults at chosen points of the sending (fractions of N): kill -9 of the
   worker, an immediate PostgreSQL restart (`pg_ctl restart -m immediate`),
   kill -9 of the Temporal dev server. Each is logged with the time until
   the next acknowledgement.
4. Waits until every intake row is started or parked (--settle-timeout),
   then counts, from PostgreSQL and Temporal visibility: acknowledged
   deliveries, intake rows, cases, workflows, duplicates (a second receipt
   event of a case, a second run of a case's workflow), stuck rows (neither
   started nor parked at the end) and parked rows with their reasons, and
   prints

       lost 0  duplicated 0  stuck 0  parked 93

   lost: an acknowledged comment without an intake row (unless the 200's
   receipt refused it), or an acknowledged valid comment without a case or
   its workflow; valid comments that were parked are reported apart, and
   count as stuck. The exit code is 1 unless lost, duplicated and stuck are
   all 0. bench/results/faults-<UTC timestamp>.json keeps the numbers.

The stack is stopped at the end (also on Ctrl-C); the state folder is kept
when something failed or with --keep-state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import random
import signal
import time
import traceback
import uuid
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from bench.storm import (
    APP_SECRET,
    PAGE,
    activate_account,
    background,
    build_deliveries,
    exit_now,
    fresh_stack_environment,
    keep_or_remove,
    logged,
    machine_details,
    write_results,
)
from deploy.stack import Stack, StackError, find_temporal_binary
from domain.meta_webhooks import sign

UNKNOWN_PAGE = "104999999999999"  # no account has it
POISON_KINDS = ("date_1970", "unknown_page", "nul", "mixed")
# The feeder's backoff, shortened so a row that keeps failing (an unknown
# Page) is parked within a minute instead of the production 17 (2 s doubling
# to 15 min); the number of attempts stays the production one (10).
FEEDER_ENV = {"KANALVAKT_INTAKE_RETRY_BASE_SECONDS": "1",
              "KANALVAKT_INTAKE_RETRY_CAP_SECONDS": "8"}
FAULTS = ("kill_worker", "restart_postgres", "kill_temporal")


def say(message: str) -> None:
    print(f"[faults] {message}", flush=True)


# --------------------------------------------------------------------------
# Deliveries


@dataclasses.dataclass
class Comment:
    comment_id: str
    kind: str  # "valid", "nul" (both must become cases), "date_1970", "unknown_page"

    @property
    def must_become_case(self) -> bool:
        return self.kind in {"valid", "nul"}


@dataclasses.dataclass
class Delivery:
    index: int
    kind: str  # "valid" or one of POISON_KINDS
    body: bytes
    signature: str
    comments: list[Comment]
    attempts: int = 0
    status: int | None = None  # the final answer's HTTP status
    receipt: dict[str, Any] | None = None
    acked_at: float | None = None
    first_sent_at: float | None = None
    gave_up: bool = False


def _comment_change(comment_id: str, post: str, text: str, name: str,
                    created_time: int) -> dict[str, Any]:
    return {"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": comment_id, "post_id": post,
        "parent_id": post, "from": {"id": str(10**14 + zlib.crc32(comment_id.encode())),
                                    "name": name},
        "message": text, "created_time": created_time}}


def _signed(entries: list[dict[str, Any]]) -> tuple[bytes, str]:
    body = json.dumps({"object": "page", "entry": entries}, ensure_ascii=False).encode()
    return body, sign(APP_SECRET, body)


def build_campaign(count: int, poison_share: float, seed: int) -> list[Delivery]:
    """N deliveries: valid ones from bench.storm.build_deliveries (one
    comment each), with poison ones in their place at random positions."""
    rng = random.Random(seed)
    poison = round(count * poison_share)
    kinds = [POISON_KINDS[i % len(POISON_KINDS)] for i in range(poison)]
    kinds += ["valid"] * (count - poison)
    rng.shuffle(kinds)
    valid = build_deliveries(count, seed).bodies
    now = int(time.time())
    out: list[Delivery] = []
    for index, kind in enumerate(kinds):
        body, signature = valid[index]
        entry = json.loads(body)["entry"][0]
        change = entry["changes"][0]["value"]
        cid, post = change["comment_id"], change["post_id"]
        if kind == "valid":
            out.append(Delivery(index, kind, body, signature, [Comment(cid, "valid")]))
            continue
        if kind == "date_1970":
            entries = [{"id": PAGE, "time": now, "changes": [_comment_change(
                f"{cid}x", post, "Ett meddelande från förr", "Tidsresenär Ett", 86_400 + index)]}]
            comments = [Comment(f"{cid}x", "date_1970")]
        elif kind == "unknown_page":
            other = f"{UNKNOWN_PAGE}_{700 + index % 25}"
            entries = [{"id": UNKNOWN_PAGE, "time": now, "changes": [_comment_change(
                f"{other}_{index}u", other, "Till fel sida", "Vilse Vilsesson", now - 5)]}]
            comments = [Comment(f"{other}_{index}u", "unknown_page")]
        elif kind == "nul":
            entries = [{"id": PAGE, "time": now, "changes": [_comment_change(
                f"{cid}n", post, "Hej\u0000 när öppnar\u0000 ni?", "Nul\u0000 Nulsson",
                now - 5)]}]
            comments = [Comment(f"{cid}n", "nul")]
        else:  # mixed: a valid comment and a 1970 one in the same delivery
            old = _comment_change(f"{cid}m", post, "Gammalt", "Tidsresenär Två", 86_400 + index)
            entries = [{"id": PAGE, "time": now, "changes": [entry["changes"][0], old]}]
            comments = [Comment(cid, "valid"), Comment(f"{cid}m", "date_1970")]
        body, signature = _signed(entries)
        out.append(Delivery(index, kind, body, signature, comments))
    return out


# --------------------------------------------------------------------------
# The sender: paced, retries like Meta


@dataclasses.dataclass
class SendState:
    sent: int = 0  # deliveries whose first attempt has started
    attempts: int = 0
    retries_waiting: int = 0
    acked: int = 0
    refused: int = 0
    gave_up: int = 0
    redelivered: int = 0
    answers: Counter[str] = dataclasses.field(default_factory=Counter)
    last_ack: float = 0.0
    last_acked_first_sent: float = 0.0  # of the delivery acknowledged last
    ack: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


async def post_once(http: httpx.AsyncClient, d: Delivery, state: SendState) -> int | None:
    state.attempts += 1
    d.attempts += 1
    try:
        r = await http.post("/webhooks/meta", content=d.body, headers={
            "content-type": "application/json", "X-Hub-Signature-256": d.signature})
    except httpx.HTTPError as exc:
        state.answers[type(exc).__name__] += 1
        return None
    state.answers[f"HTTP {r.status_code}"] += 1
    if r.status_code == 200:
        with contextlib.suppress(ValueError):
            d.receipt = r.json()
    return r.status_code


async def deliver(http: httpx.AsyncClient, d: Delivery, state: SendState,
                  slots: asyncio.Semaphore, give_up_after: float) -> None:
    """Until a 200 or a 4xx, with Meta's kind of backoff in between."""
    first = d.first_sent_at = time.monotonic()
    delay = 1.0
    while True:
        async with slots:
            status = await post_once(http, d, state)
        if status is not None and (status == 200 or (400 <= status < 500
                                                     and status not in (408, 429))):
            d.status = status
            if status == 200:
                d.acked_at = state.last_ack = time.monotonic()
                state.acked += 1
                state.last_acked_first_sent = first
                state.ack.set()
            else:
                state.refused += 1
            return
        if time.monotonic() - first > give_up_after:
            d.gave_up = True
            d.status = status
            state.gave_up += 1
            return
        state.retries_waiting += 1
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        state.retries_waiting -= 1
        delay = min(delay * 2, 30.0)


# --------------------------------------------------------------------------
# Faults


async def kill_child(stack: Stack, name: str) -> str:
    child = next(c for c in stack.children if c.name == name)
    pid = child.process.pid
    os.kill(pid, signal.SIGKILL)
    return f"kill -9 {name} (pid {pid})"


async def restart_postgres(stack: Stack) -> str:
    """`pg_ctl restart -m immediate`: the server stops without a checkpoint
    (like a crash; WAL recovery at start) and comes straight back."""
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # built at import

    server = stack._pg_server  # noqa: SLF001 - the stack's own handle
    if server is None:
        return "PostgreSQL restart skipped: not the embedded server"
    pgdata = stack.config.state_dir / "pg"
    began = time.monotonic()
    await asyncio.to_thread(pg_ctl, ["-w", "-m", "immediate", "-l", str(pgdata / "log"),
                                     "restart"], pgdata=pgdata, user=server.system_user,
                            timeout=120)
    return f"pg_ctl restart -m immediate ({time.monotonic() - began:.1f} s)"


async def do_fault(stack: Stack, fault: str) -> str:
    if fault == "kill_worker":
        return await kill_child(stack, "worker")
    if fault == "kill_temporal":
        return await kill_child(stack, "Temporal dev server")
    return await restart_postgres(stack)


# --------------------------------------------------------------------------
# Counting


async def intake_counts(db: asyncpg.Pool) -> asyncpg.Record:
    return await db.fetchrow(
        """
        SELECT count(*) AS rows, count(started_at) AS started,
               count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
               count(*) FILTER (WHERE started_at IS NULL AND parked_at IS NULL) AS pending,
               (SELECT count(*) FROM message_cases) AS cases
        FROM intake
        """)


async def workflow_ids(temporal: Client) -> Counter[str]:
    """Every InboundMessageWorkflow execution in visibility, by workflow id
    (a count above 1 is a second run of the same case)."""
    seen: Counter[str] = Counter()
    async for execution in temporal.list_workflows("WorkflowType = 'InboundMessageWorkflow'"):
        seen[execution.id] += 1
    return seen


async def count_everything(db: asyncpg.Pool, temporal: Client,
                           deliveries: Sequence[Delivery]) -> dict[str, Any]:
    rows = {r["external_id"]: r for r in await db.fetch(
        "SELECT external_id, account_ref, started_at, parked_at, attempts, last_error "
        "FROM intake WHERE platform = 'facebook'")}
    cases = {r["case_id"] for r in await db.fetch("SELECT case_id FROM message_cases")}
    receipts_twice = await db.fetch(
        "SELECT stream_id, count(*) AS n FROM events WHERE event_type = 'MessageReceived' "
        "GROUP BY stream_id HAVING count(*) > 1")
    # Visibility is eventually consistent: read until two reads agree.
    workflows = await workflow_ids(temporal)
    for _ in range(20):
        await asyncio.sleep(2)
        again = await workflow_ids(temporal)
        if again == workflows:
            break
        workflows = again

    lost: list[str] = []
    valid_parked: list[str] = []
    acked_comments = valid_comments = refused_in_receipt = 0
    for d in deliveries:
        if d.status != 200:
            continue
        receipt = d.receipt or {}
        for c in d.comments:
            acked_comments += 1
            case_id = f"message:facebook:{c.comment_id}"
            row = rows.get(c.comment_id)
            if row is None:
                if receipt.get("errors"):
                    refused_in_receipt += 1
                else:
                    lost.append(f"{c.comment_id} ({c.kind}): acknowledged, no intake row")
                continue
            if not c.must_become_case:
                continue
            valid_comments += 1
            if row["parked_at"] is not None:
                valid_parked.append(f"{c.comment_id} ({c.kind}): parked: {row['last_error']}")
            elif row["started_at"] is not None:
                if case_id not in cases:
                    lost.append(f"{c.comment_id} ({c.kind}): started, no case")
                elif case_id not in workflows:
                    lost.append(f"{c.comment_id} ({c.kind}): case, no workflow")
    stuck = [f"{eid}: pending, {r['attempts']} attempts, last error {r['last_error']}"
             for eid, r in rows.items() if r["started_at"] is None and r["parked_at"] is None]
    duplicated = ([f"{r['stream_id']}: {r['n']} receipts" for r in receipts_twice]
                  + [f"{wid}: {n} runs" for wid, n in workflows.items() if n > 1])
    parked_reasons = Counter(
        (r["last_error"] or "?").split(":")[0][:80] for r in rows.values()
        if r["parked_at"] is not None)
    by_kind: dict[str, Counter[str]] = {}
    for d in deliveries:
        for c in d.comments:
            row = rows.get(c.comment_id)
            where = ("no row" if row is None else "parked" if row["parked_at"] is not None
                     else "started" if row["started_at"] is not None else "pending")
            by_kind.setdefault(c.kind, Counter())[where] += 1
    return {
        "acknowledged_comments": acked_comments,
        "acknowledged_comments_to_become_cases": valid_comments,
        "refused_in_receipt": refused_in_receipt,
        "intake_rows": len(rows),
        "intake_started": sum(1 for r in rows.values() if r["started_at"] is not None),
        "cases": len(cases),
        "workflows": len(workflows),
        "workflow_executions": sum(workflows.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "stuck": len(stuck) + len(valid_parked),
        "stuck_pending": len(stuck),
        "valid_parked": len(valid_parked),
        "parked": sum(1 for r in rows.values() if r["parked_at"] is not None),
        "parked_reasons": dict(parked_reasons),
        "outcome_by_kind": {k: dict(v) for k, v in by_kind.items()},
        "examples": {"lost": lost[:10], "duplicated": duplicated[:10], "stuck": stuck[:10],
                     "valid_parked": valid_parked[:10]},
    }


# --------------------------------------------------------------------------
# The run


async def campaign(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    assert stack.database_url is not None
    db = await asyncpg.create_pool(stack.database_url, min_size=0, max_size=2)
    base_url = stack.config.web_url.replace("localhost", "127.0.0.1")
    http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30.0),
                             limits=httpx.Limits(max_connections=args.concurrency))
    temporal = await Client.connect(stack.config.effective_temporal_address,
                                    namespace=stack.config.namespace)
    try:
        t = time.monotonic()
        account_id = await activate_account(http)
        while not await db.fetchval(
                "SELECT true FROM accounts WHERE account_id = $1 AND stage = 'active'",
                uuid.UUID(account_id)):
            if time.monotonic() - t > 60:
                raise RuntimeError("the account did not become active in 60 s")
            await asyncio.sleep(0.2)
        say(f"account {account_id} (page {PAGE}) active after {time.monotonic() - t:.1f} s")

        deliveries = build_campaign(args.deliveries, args.poison, args.seed)
        kinds = Counter(d.kind for d in deliveries)
        say(f"{len(deliveries)} deliveries built and signed: {dict(kinds)}")
        at = {"kill_worker": args.kill_worker_at, "restart_postgres": args.restart_postgres_at,
              "kill_temporal": args.kill_temporal_at}
        plan = sorted((round(frac * len(deliveries)), name) for name, frac in at.items()
                      if frac is not None and 0 <= frac <= 1)
        say("faults after delivery " + ", ".join(f"{n}: {name}" for n, name in plan))

        state = SendState()
        slots = asyncio.Semaphore(args.concurrency)
        faults: list[dict[str, Any]] = []
        tasks: list[asyncio.Task[None]] = []
        rng = random.Random(args.seed + 1)
        began = time.monotonic()

        async def line() -> str:
            c = await intake_counts(db)
            return (f"{time.monotonic() - began:6.1f} s  sent {state.sent}/{len(deliveries)}  "
                    f"acked {state.acked}  retrying {state.retries_waiting}  "
                    f"refused {state.refused}  gave up {state.gave_up}  | intake {c['rows']}  "
                    f"started {c['started']}  pending {c['pending']}  parked {c['parked']}  "
                    f"cases {c['cases']}  | faults {len(faults)}/{len(plan)}")

        async def fault(name: str) -> None:
            state.ack.clear()
            at_s = time.monotonic() - began
            started_before = None
            with contextlib.suppress(Exception):
                started_before = (await intake_counts(db))["started"]
            try:
                what = await do_fault(stack, name)
            except Exception as exc:
                what = f"{name} failed: {type(exc).__name__}: {exc}"
            say(f"FAULT at {at_s:.1f} s: {what}")
            record: dict[str, Any] = {"fault": name, "at_s": round(at_s, 1), "what": what}
            faults.append(record)
            # Recovery: until a delivery first sent after the fault is acknowledged.
            t0 = time.monotonic()
            with contextlib.suppress(TimeoutError):
                while state.last_acked_first_sent < t0:
                    state.ack.clear()
                    await asyncio.wait_for(state.ack.wait(), timeout=300)
            record["next_ack_after_s"] = round(time.monotonic() - t0, 1)
            # And until the feeder starts cases again (more rows started than
            # at the fault: with the worker or Temporal away, none are).
            feeder_s = None
            for _ in range(600):
                with contextlib.suppress(Exception):
                    if started_before is not None and (
                            await intake_counts(db))["started"] > started_before:
                        feeder_s = round(time.monotonic() - t0, 1)
                        break
                await asyncio.sleep(0.5)
            record["feeder_starts_cases_again_after_s"] = feeder_s
            say(f"after {name}: a delivery sent after it was acknowledged "
                f"{record['next_ack_after_s']} s later; the feeder started cases again "
                f"{feeder_s} s after it")

        async def progress() -> None:
            while True:
                await asyncio.sleep(3.0)
                try:
                    say(await line())
                except Exception as exc:  # PostgreSQL restarting, say
                    say(f"(progress unavailable: {type(exc).__name__})")

        async with background(progress()):
            plan_left = list(plan)
            for d in deliveries:
                due = began + d.index / args.rate
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                while plan_left and plan_left[0][0] <= d.index:
                    tasks.append(asyncio.create_task(fault(plan_left.pop(0)[1])))
                state.sent += 1
                tasks.append(asyncio.create_task(
                    deliver(http, d, state, slots, args.give_up_after)))
                # Meta delivers at least once: now and then an acknowledged
                # delivery comes again.
                if rng.random() < args.redeliver:
                    again = rng.choice(deliveries[:d.index + 1])
                    if again.status == 200:
                        copy = dataclasses.replace(again, attempts=0, status=None,
                                                   receipt=None, acked_at=None)
                        state.redelivered += 1
                        tasks.append(asyncio.create_task(
                            deliver(http, copy, state, slots, args.give_up_after)))
            await asyncio.gather(*tasks)
            send_seconds = time.monotonic() - began
            say(f"sending done in {send_seconds:.1f} s: {state.acked} acknowledged (incl. "
                f"{state.redelivered} redeliveries), {state.refused} refused, {state.gave_up} "
                f"given up, {state.attempts} requests; answers {dict(state.answers)}")

            # Settle: every row started or parked, and the cases caught up.
            t0 = time.monotonic()
            while True:
                c = await intake_counts(db)
                if c["pending"] == 0 and c["cases"] >= c["started"]:
                    break
                if time.monotonic() - t0 > args.settle_timeout:
                    say(f"not settled after {args.settle_timeout:.0f} s: {dict(c)}")
                    break
                await asyncio.sleep(1.0)
            settle_seconds = time.monotonic() - t0
            say(f"settled in {settle_seconds:.1f} s; counting")
            counts = await count_everything(db, temporal, deliveries)
        return {
            "deliveries": len(deliveries),
            "kinds": dict(kinds),
            "rate_per_s": args.rate,
            "concurrency": args.concurrency,
            "send": {"seconds": round(send_seconds, 1), "acknowledged": state.acked,
                     "redelivered": state.redelivered, "refused": state.refused,
                     "gave_up": state.gave_up, "requests": state.attempts,
                     "answers": dict(state.answers)},
            "faults": faults,
            "settle_seconds": round(settle_seconds, 1),
            "counts": counts,
        }
    finally:
        await http.aclose()
        await db.close()


def report(result: dict[str, Any]) -> str:
    c = result["campaign"]["counts"]
    s = result["campaign"]["send"]
    lines = ["", "=" * 78, "  Fault campaign", "-" * 78,
             f"  deliveries      {result['campaign']['deliveries']} "
             f"{result['campaign']['kinds']} at {result['campaign']['rate_per_s']}/s",
             f"  sender          {s['acknowledged']} acknowledged ({s['redelivered']} "
             f"redeliveries), {s['refused']} refused (4xx), {s['gave_up']} given up, "
             f"{s['requests']} requests",
             f"  answers         {s['answers']}"]
    for f in result["campaign"]["faults"]:
        lines.append(f"  fault           at {f['at_s']} s: {f['what']}; acks again after "
                     f"{f.get('next_ack_after_s')} s, cases again after "
                     f"{f.get('feeder_starts_cases_again_after_s')} s")
    lines += [
        f"  comments        {c['acknowledged_comments']} acknowledged, "
        f"{c['acknowledged_comments_to_become_cases']} to become cases, "
        f"{c['refused_in_receipt']} refused in the 200's receipt",
        f"  intake          {c['intake_rows']} rows, {c['intake_started']} started, "
        f"{c['parked']} parked {c['parked_reasons']}",
        f"  cases           {c['cases']}  workflows {c['workflows']} "
        f"({c['workflow_executions']} executions)",
        f"  by kind         {c['outcome_by_kind']}",
        "-" * 78,
        f"  lost {c['lost']}  duplicated {c['duplicated']}  stuck {c['stuck']} "
        f"(pending {c['stuck_pending']}, valid parked {c['valid_parked']})  "
        f"parked {c['parked']}",
        "=" * 78, ""]
    for key, examples in c["examples"].items():
        for example in examples:
            lines.insert(-2, f"  {key}: {example}")
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    hurry = asyncio.Event()
    stop = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            hurry.set()
            return
        say(f"{sig.name}: stopping")
        stop.set()
        main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    base = fresh_stack_environment("kanalvakt-faults-")
    state_dir = base.state_dir
    children_env = dict(FEEDER_ENV)
    for pair in args.env:
        key, _, value = pair.partition("=")
        children_env[key] = value
    os.environ.update(children_env)
    config = dataclasses.replace(
        base,
        worker_command=logged(state_dir / "worker.log", base.effective_worker_command),
        web_command=logged(state_dir / "web.log", base.effective_web_command))
    try:
        temporal_bin: Path | None = find_temporal_binary()
    except StackError:
        temporal_bin = None
    started_utc = datetime.now(UTC)
    result: dict[str, Any] = {
        "benchmark": "faults", "started_utc": started_utc.isoformat(timespec="seconds"),
        "machine": machine_details(temporal_bin), "parameters": vars(args),
        "children_env": children_env}
    say(f"children's environment: {children_env}")
    say(f"state folder {state_dir} (worker.log, web.log, temporal.log, pg/log there); ports: "
        f"Temporal {base.temporal_port}, web {base.web_port}")
    stack = Stack(config, hurry)
    code = 0
    keep = args.keep_state
    supervising: asyncio.Future[str | None] | None = None
    try:
        await stack.start()
        print(stack.summary(), flush=True)
        supervising = asyncio.ensure_future(stack.supervise(stop))
        result["campaign"] = await campaign(stack, args)
        c = result["campaign"]["counts"]
        if c["lost"] or c["duplicated"] or c["stuck"]:
            code = 1
            keep = True
    except asyncio.CancelledError:
        say("interrupted")
        code, keep = 130, True
    except StackError as exc:
        say(f"cannot start the stack: {exc}")
        code, keep = 1, True
    except Exception:
        say("failed:\n" + traceback.format_exc())
        code, keep = 1, True
    finally:
        stop.set()
        if supervising is not None:
            with contextlib.suppress(BaseException):
                gave_up = await supervising
                if gave_up:
                    say(f"the stack gave up: {gave_up}")
                    code, keep = code or 1, True
        say("stopping the stack")
        with contextlib.suppress(BaseException):
            await stack.stop()
    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    if "campaign" in result:
        print(report(result), flush=True)
        write_results("faults", result, started_utc, tell=say)
    keep_or_remove(state_dir, keep, tell=say)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description="A paced storm of signed webhook deliveries with poison rows against the "
                    "local stack, with kill -9 of the worker, an immediate PostgreSQL restart "
                    "and kill -9 of the Temporal dev server; prints lost / duplicated / stuck "
                    "/ parked and exits 1 unless the first three are 0.")
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=12.0, help="deliveries started per second")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--poison", type=float, default=0.03,
                        help="share of poison deliveries (default 0.03)")
    parser.add_argument("--redeliver", type=float, default=0.02,
                        help="share of acknowledged deliveries sent again (default 0.02)")
    parser.add_argument("--kill-worker-at", type=float, default=0.25,
                        help="fraction of the deliveries after which the worker is killed")
    parser.add_argument("--restart-postgres-at", type=float, default=0.5)
    parser.add_argument("--kill-temporal-at", type=float, default=0.75)
    parser.add_argument("--give-up-after", type=float, default=600.0,
                        help="a delivery is retried for this many seconds (default 600)")
    parser.add_argument("--settle-timeout", type=float, default=600.0,
                        help="wait this long for every row to be started or parked")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the stack's children (repeatable)")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--keep-state", action="store_true")
    args = parser.parse_args(argv)
    if args.deliveries < 1 or args.rate <= 0 or args.concurrency < 1:
        parser.error("--deliveries, --rate and --concurrency must be positive")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    exit_now(main())
