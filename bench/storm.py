"""Storm benchmark: N signed Meta webhook deliveries on one account against
the real local stack, measured against the no-op-workflow rate of the same
Temporal server. A script, not a test:

    .venv/bin/python -m bench.storm --messages 10000 --concurrency 64

What it does, in one run:

1. Brings up the local stack (deploy.stack: Temporal dev server on SQLite
   WAL, embedded PostgreSQL, migrations, sample directory, the worker with
   its intake feeder, the web app) in a fresh temporary state folder on free
   ports, with META_APP_SECRET set for the children. The worker's and the
   web app's logs go to files in that folder, not to the terminal.
2. Ceiling: an in-process worker on its own task queue runs a no-op
   workflow (bench.NoopWorkflow); M of them are started (at most C starts in
   flight) and their results awaited (at most 200 waits at once, a sliding
   window). Reported as no-op workflows/s, first start -> last result.
3. Storm: one Facebook account is taken to active over the web API, then N
   deliveries (one comment each, distinct comment ids, Swedish texts, 5 %
   with a phone number and 2 % with an e-mail address) are POSTed to
   /webhooks/meta by C senders, each with one keep-alive connection of its
   own, opened before the clock starts (one shared client with 64
   connections measured httpx's pool, not the webhook: docs/benchmarks.md).
   The senders write each request as one HTTP/1.1 buffer (bench/rawhttp.py),
   so the client's CPU, which shares the machine with the stack, stays small;
   --client httpx sends with one httpx.AsyncClient each instead.
   Closed loop by default; --rate paces the starts (open loop). Each
   request's ack latency (send -> 200) is recorded. Then it waits until all
   N cases are in `message_cases` (PostgreSQL, queried directly).
   messages/s into the inbox = N / (first send -> last case recorded), the
   last case's time taken from the database (`events.recorded_at` of the
   case's first event); intake rate = N / (first send -> last ack).
   With --workers K and --webs W (issue 12: scale-out), K-1 more
   `python -m worker` processes (each with its feeder and its own metrics
   port) run beside the stack's worker, and W-1 more web processes beside
   its web app; the senders are spread over all W web processes in turn.
   --web-cpu gives the web processes the last CPU to themselves and the rest
   of the stack the others, as a deployment gives the web CPUs of its own.
4. Prints a report and writes bench/results/storm-<UTC timestamp>.json with
   the machine, the parameters, the numbers and the CPU used per process
   (Temporal dev server, worker, web app, PostgreSQL, this script), sampled
   every 2 s with psutil throughout.

The stack is stopped at the end, also on Ctrl-C (a second Ctrl-C stops it
without waiting) and on errors; the state folder is removed unless
--keep-state is given or something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from temporalio.client import Client
from temporalio.worker import Worker

import settings
from bench import NoopWorkflow
from bench.rawhttp import RawHttpError, RawSender
from deploy.stack import Stack, StackConfig, StackError, find_temporal_binary
from domain.meta_webhooks import sign
from feeder import IntakeFeeder

RESULTS_DIR = settings.ROOT / "bench" / "results"
PAGE = "104000000000001"  # the account's platform_account_id: `entry.id` in deliveries
APP_SECRET = "storm-bench-app-secret"
PROGRESS_EVERY = 3.0
RESULT_WINDOW = 200  # handle.result() waits at most at once (thousands at once hung once)


def say(message: str) -> None:
    print(f"[storm] {message}", flush=True)


# --------------------------------------------------------------------------
# Small helpers


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[int(rank) - 1]


def free_ports(count: int) -> list[int]:
    """Distinct free ports (all held open until all are chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def logged(log_path: Path, argv: Sequence[str]) -> list[str]:
    """The same command, its output appended to a file: `exec` keeps the pid,
    so signals and the CPU sampling reach the real process."""
    return ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(log_path))} 2>&1', "sh", *argv]


async def progress(line: Callable[[], Awaitable[str]], every: float = PROGRESS_EVERY) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            say(await line())
        except Exception as exc:  # a progress line must never end the run
            say(f"(progress unavailable: {exc})")


@contextlib.asynccontextmanager
async def background(coro: Awaitable[Any]):  # type: ignore[no-untyped-def]
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


# --------------------------------------------------------------------------
# CPU per process


@dataclasses.dataclass
class CpuSnapshot:
    at: float
    per_group: dict[str, float]  # cumulative CPU seconds
    busy: float  # whole machine, CPU seconds used (not idle, iowait or steal)
    steal: float


class CpuSampler:
    """Cumulative CPU seconds per process group (a root pid and, if asked,
    its descendants: PostgreSQL's backends), sampled with psutil."""

    def __init__(self, groups: dict[str, tuple[int, bool]]) -> None:
        self.groups = groups
        self.totals = dict.fromkeys(groups, 0.0)
        self._last: dict[int, float] = {}
        self._seen_once = False
        self._sys0 = psutil.cpu_times()
        self._recent: tuple[CpuSnapshot, CpuSnapshot] | None = None
        self.sample()

    @staticmethod
    def _busy(t: Any) -> float:
        # Not idle, iowait, steal (the hypervisor's) or guest (already in user).
        return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))

    def _system(self) -> tuple[float, float]:
        t = psutil.cpu_times()
        return (self._busy(t) - self._busy(self._sys0),
                getattr(t, "steal", 0.0) - getattr(self._sys0, "steal", 0.0))

    def sample(self) -> CpuSnapshot:
        for name, (pid, descendants) in self.groups.items():
            try:
                root = psutil.Process(pid)
                procs = [root, *(root.children(recursive=True) if descendants else [])]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                now = times.user + times.system
                # A process first seen after the first sample was born since.
                before = self._last.get(proc.pid, 0.0 if self._seen_once else now)
                self.totals[name] += max(0.0, now - before)
                self._last[proc.pid] = now
        self._seen_once = True
        busy, steal = self._system()
        snap = CpuSnapshot(time.monotonic(), dict(self.totals), busy, steal)
        previous = self._recent[1] if self._recent else snap
        self._recent = (previous, snap)
        return snap

    async def run(self, every: float = 2.0) -> None:
        while True:
            await asyncio.sleep(every)
            self.sample()

    @staticmethod
    def cores(a: CpuSnapshot, b: CpuSnapshot) -> dict[str, float]:
        """Average cores used per group between two snapshots."""
        wall = max(b.at - a.at, 1e-9)
        out = {name: round((b.per_group[name] - a.per_group[name]) / wall, 3)
               for name in b.per_group}
        ours = sum(out.values())
        out["machine busy"] = round((b.busy - a.busy) / wall, 3)
        # Anything else on the machine (another test run, say): noise to report.
        out["other processes"] = round(max(0.0, out["machine busy"] - ours), 3)
        out["machine steal"] = round((b.steal - a.steal) / wall, 3)
        return out

    def recent_line(self) -> str:
        if self._recent is None or self._recent[0] is self._recent[1]:
            return ""
        c = self.cores(*self._recent)
        return "cores: " + " ".join(f"{k.split()[0]}={v:.2f}" for k, v in c.items()
                                    if k != "machine steal")


# --------------------------------------------------------------------------
# Phase 1: the ceiling


async def measure_ceiling(address: str, count: int, concurrency: int,
                          cpu: CpuSampler) -> dict[str, Any]:
    """M no-op workflows: at most `concurrency` starts in flight, and at most
    RESULT_WINDOW result waits at once (a sliding window rather than one
    gather over all of them)."""
    client = await Client.connect(address)
    task_queue = f"storm-ceiling-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:8]
    started = completed = failed = 0
    first_error: str | None = None
    start_slots = asyncio.Semaphore(concurrency)
    result_slots = asyncio.Semaphore(RESULT_WINDOW)
    last_start = 0.0

    async def one(i: int) -> None:
        nonlocal started, completed, failed, first_error, last_start
        async with start_slots:
            try:
                handle = await client.start_workflow(
                    NoopWorkflow.run, id=f"storm-noop-{run}-{i}", task_queue=task_queue)
            except Exception as exc:
                failed += 1
                first_error = first_error or f"start: {exc!r}"
                return
            started += 1
            last_start = time.perf_counter()
        async with result_slots:
            try:
                await asyncio.wait_for(handle.result(), timeout=300)
            except Exception as exc:
                failed += 1
                first_error = first_error or f"result: {exc!r}"
                return
        completed += 1

    async def line() -> str:
        elapsed = time.perf_counter() - began
        return (f"ceiling {elapsed:5.1f} s  started {started}/{count}  completed {completed}  "
                f"failed {failed}  {completed / elapsed:5.1f} wf/s  {cpu.recent_line()}")

    say(f"phase 1, ceiling: {count} no-op workflows on task queue {task_queue}, "
        f"{concurrency} starts in flight, at most {RESULT_WINDOW} result waits at once")
    async with Worker(client, task_queue=task_queue, workflows=[NoopWorkflow]):
        snap0 = cpu.sample()
        began = time.perf_counter()
        async with background(progress(line)):
            await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - began
        snap1 = cpu.sample()
    result = {
        "workflows": count,
        "completed": completed,
        "failed": failed,
        "first_error": first_error,
        "seconds": round(elapsed, 3),
        "workflows_per_s": round(completed / elapsed, 2),
        "starts_per_s": round(started / (last_start - began), 2) if last_start > began else None,
        "start_concurrency": concurrency,
        "result_window": RESULT_WINDOW,
        "worker": "in-process, default Worker options, sandboxed runner "
                  "(workflow in bench/__init__.py)",
        "cpu_cores": CpuSampler.cores(snap0, snap1),
    }
    say(f"ceiling: {completed} no-op workflows in {elapsed:.1f} s = "
        f"{result['workflows_per_s']} wf/s ({failed} failed)")
    return result


# --------------------------------------------------------------------------
# Phase 2: the storm

FIRST_NAMES = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Mikael", "Emma",
               "Anders", "Lena", "Per", "Elin", "Oskar", "Fatima", "Ahmed", "Ingrid", "Nils",
               "Sofia", "Hassan", "Maja", "Gustav", "Linnea", "Björn", "Åsa", "Örjan"]
LAST_NAMES = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
              "Olsson", "Persson", "Svensson", "Gustafsson", "Lindqvist", "Berg", "Holm",
              "Öberg", "Åkesson", "Yusuf", "Karimi"]
PLAIN_TEXTS = [
    "Hej! När öppnar biblioteket på lördag?",
    "Tack för en fantastisk konsert i fredags, vi kommer gärna igen.",
    "Finns det parkering nära Kulturhuset Ängen?",
    "Är utställningen öppen för skolklasser på förmiddagarna?",
    "Varför har ni stängt simhallen hela veckan? Det borde stått på hemsidan.",
    "Kan man boka lokal för en födelsedagsfest hos er?",
    "Jättebra initiativ med läxhjälpen på onsdagar!",
    "Hur mycket kostar det att gå på teatern med två barn?",
    "Blir det någon julmarknad i år?",
    "Jag saknar fler aktiviteter för pensionärer på dagtid.",
    "Gäller sommarlovskortet även på museet?",
    "Vilken tid börjar föreställningen på söndag?",
    "Bussen hem går för tidigt efter kvällsföreställningarna, kan ni prata med Länstrafiken?",
    "Fina bilder! Vem har tagit dem?",
    "Är det fri entré till vernissagen?",
    "Kommer ni att sända föreläsningen digitalt också?",
    "Toaletterna på övervåningen var trasiga igen i går.",
    "Får man ta med hund in i foajén?",
    "Hur anmäler jag mitt barn till dansskolan i höst?",
    "Tack för snabbt svar förra gången!",
]
PHONE_TEXTS = [
    "Ring mig på {phone} så kan vi prata om bokningen.",
    "Jag har försökt nå er hela veckan, mitt nummer är {phone}.",
    "Kan någon från kulturskolan höra av sig? Nås på {phone} efter kl 17.",
    "Hittade en borttappad plånbok i foajén, ring {phone}.",
]
EMAIL_TEXTS = [
    "Skicka gärna programmet till {email} tack!",
    "Vill anmäla intresse för kursen, min mejl är {email}",
]


def _phone(rng: random.Random) -> str:
    n = [rng.randint(0, 9) for _ in range(7)]
    mobile = f"07{rng.choice('0236')}"
    return rng.choice([
        f"{mobile}-{n[0]}{n[1]}{n[2]} {n[3]}{n[4]} {n[5]}{n[6]}",
        f"{mobile}{''.join(map(str, n))}",
        f"+46 {mobile[1:]} {n[0]}{n[1]}{n[2]} {n[3]}{n[4]} {n[5]}{n[6]}",
    ])


@dataclasses.dataclass
class Deliveries:
    bodies: list[tuple[bytes, str]]  # (raw body, X-Hub-Signature-256)
    with_phone: int
    with_email: int


def build_deliveries(count: int, seed: int, *, phone_share: float = 0.05,
                     email_share: float = 0.02) -> Deliveries:
    """One comment per delivery, each with its own comment id; built and
    signed before the clock starts so the client spends its time sending."""
    rng = random.Random(seed)
    kinds = (["phone"] * round(count * phone_share) + ["email"] * round(count * email_share))
    kinds += ["plain"] * (count - len(kinds))
    rng.shuffle(kinds)
    now = int(time.time())
    bodies: list[tuple[bytes, str]] = []
    for i, kind in enumerate(kinds, start=1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if kind == "phone":
            text = rng.choice(PHONE_TEXTS).format(phone=_phone(rng))
        elif kind == "email":
            local = f"{first}.{last}".lower().translate(str.maketrans("åäöé", "aaoe"))
            text = rng.choice(EMAIL_TEXTS).format(email=f"{local}@example.se")
        else:
            text = rng.choice(PLAIN_TEXTS)
        post = f"{PAGE}_{700 + i % 25}"
        change = {"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": f"{post}_{i}", "post_id": post,
            "parent_id": post, "from": {"id": str(rng.randint(10**14, 10**15 - 1)),
                                        "name": f"{first} {last}"},
            "message": text, "created_time": now - rng.randint(1, 60)}}
        body = json.dumps({"object": "page", "entry": [
            {"id": PAGE, "time": now, "changes": [change]}]}, ensure_ascii=False).encode()
        bodies.append((body, sign(APP_SECRET, body)))
    return Deliveries(bodies, kinds.count("phone"), kinds.count("email"))


async def activate_account(http: httpx.AsyncClient) -> str:
    """As tests/e2e/conftest.py's active_account: request, approve, both
    assessments, sign-off, activate with the page id."""
    # The tests' helpers are not installed with Kanalvakt: imported when the
    # benchmark runs, from a source tree.
    from tests.support import REQUESTER, activation_steps, request_fields

    def as_(actor: str) -> dict[str, str]:
        return {"X-Kanalvakt-Actor": actor}

    r = await http.post("/api/accounts", headers=as_(REQUESTER), json={
        **request_fields(platform="facebook", account_name="Kulturhuset Ängen"),
        "municipality_id": "exempelby"})
    if r.status_code not in (201, 202):  # 202: accepted, the case still being written
        raise RuntimeError(f"account request: {r.status_code} {r.text}")
    account_id: str = r.json()["account_id"]
    today = datetime.now(UTC).date()
    steps = activation_steps(PAGE, today)
    for path, actor, body in steps:
        r = await http.post(f"/api/accounts/{account_id}/{path}", headers=as_(actor), json=body)
        for _ in range(120):  # 202 above: the account appears when its case is written
            if r.status_code != 404:
                break
            await asyncio.sleep(0.5)
            r = await http.post(f"/api/accounts/{account_id}/{path}", headers=as_(actor),
                                json=body)
        if r.status_code != 200:
            raise RuntimeError(f"account {path}: {r.status_code} {r.text}")
    return account_id


class HttpxSender:
    """The storm's sender over httpx (--client httpx): one AsyncClient of
    one connection, with RawSender's interface."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            r = await self._client.post(path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RawHttpError(type(exc).__name__) from exc
        return r.status_code, r.content

    async def aclose(self) -> None:
        await self._client.aclose()


Sender = RawSender | HttpxSender
CLIENTS = {"raw": "one keep-alive connection per sender writing each HTTP/1.1 request "
                  "as one buffer (bench/rawhttp.py), warmed up",
           "httpx": "one httpx.AsyncClient with one connection per sender, warmed up"}


async def run_storm(stack: Stack, count: int, concurrency: int, seed: int, rate: float,
                    stall_timeout: float, cpu: CpuSampler,
                    more_web_urls: Sequence[str] = (),
                    start_at: float | None = None, client: str = "raw") -> dict[str, Any]:
    """The storm phase: activate its account, send, wait for the inbox and
    for the cases to settle. `more_web_urls`: further web processes the
    senders take turns with. `start_at` (seconds since the epoch): the first
    delivery waits until then (bench.open_cases lines the storm up with
    deadlines it loaded)."""
    assert stack.database_url is not None
    # Two connections: the progress line and the waiting loop query at once.
    db = await asyncpg.create_pool(stack.database_url, min_size=2, max_size=2)
    base_url = stack.config.web_url.replace("localhost", "127.0.0.1")
    web_urls = [base_url, *more_web_urls]  # the senders take them in turn
    http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60.0))
    # One client with one connection per sender. Measured with the web app
    # alone (no feeder, no workflows): one shared AsyncClient with 64
    # connections spent 9.8 ms of client CPU per request and gave 104 req/s,
    # p99 3.3 s; 64 clients of one connection each 2.2 ms, 395 req/s, p99
    # 333 ms. The shared pool measured httpx, not the webhook.
    kind = RawSender if client == "raw" else HttpxSender
    senders: list[Sender] = [kind(web_urls[i % len(web_urls)]) for i in range(concurrency)]
    try:
        temporal = await Client.connect(stack.config.effective_temporal_address,
                                        namespace=stack.config.namespace)
        result = await _storm(db, http, senders, count, seed, rate, stall_timeout, cpu,
                              temporal, settings.load().task_queue, start_at)
        result["client"] = CLIENTS[client]
        return result
    finally:
        await http.aclose()
        for sender in senders:
            await sender.aclose()
        await db.close()


async def warm_up(senders: Sequence[Sender]) -> None:
    """Open every sender's connection with a signed delivery of no entries
    (accepted, nothing written), so connection set-up is not ack latency."""
    body = json.dumps({"object": "page", "entry": []}).encode()
    headers = {"content-type": "application/json",
               "X-Hub-Signature-256": sign(APP_SECRET, body)}
    answers = await asyncio.gather(*(c.post("/webhooks/meta", body, headers)
                                     for c in senders))
    bad = [status for status, _ in answers if status != 200]
    if bad:
        raise RuntimeError(f"warm-up deliveries answered {bad[:5]}")


ACK_METRIC = "kanalvakt_webhook_ack_seconds_bucket"


async def server_ack_buckets(urls: Sequence[str]) -> dict[float, float]:
    """The web processes' own ack histogram (`kanalvakt_webhook_ack_seconds`,
    status 2xx), summed over `urls`: {upper bound in s: cumulative count}.
    The server's view, from the request's arrival to the answer's start:
    without the sending client's and the kernel's share of the latency."""
    buckets: dict[float, float] = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        for url in dict.fromkeys(urls):
            text = (await client.get(f"{url.rstrip('/')}/metrics")).text
            for line in text.splitlines():
                if not line.startswith(ACK_METRIC + "{") or 'status="2' not in line:
                    continue
                labels, _, value = line.rpartition(" ")
                le = labels.split('le="', 1)[1].split('"', 1)[0]
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0.0) + float(value)
    return buckets


def server_ack_figures(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """The storm's share of the server's ack histogram: how many acks fell
    within each bucket bound, and the smallest bound holding 99% of them
    (the server-side p99, to the histogram's resolution)."""
    delta = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in sorted(after)}
    total = delta.get(float("inf"), 0.0)
    if not total:
        return {"acks": 0}
    within = {("+Inf" if b == float("inf") else f"{b:g}"): round(n / total, 4)
              for b, n in delta.items()}
    p99_bound = next((b for b, n in delta.items() if n >= 0.99 * total), None)
    return {"acks": int(total), "share_within_s": within,
            "p99_at_most_s": None if p99_bound in (None, float("inf")) else p99_bound}


async def _storm(db: asyncpg.Pool, http: httpx.AsyncClient, senders: list[Sender],
                 count: int, seed: int, rate: float, stall_timeout: float,
                 cpu: CpuSampler, temporal: Client, task_queue: str,
                 start_at: float | None = None) -> dict[str, Any]:
    concurrency = len(senders)
    say("phase 2, storm: taking one Facebook account to active over the web API")
    t = time.perf_counter()
    account_id = await activate_account(http)
    while not await db.fetchval(
            "SELECT true FROM accounts WHERE account_id = $1 AND stage = 'active' "
            "AND platform_account_id = $2", uuid.UUID(account_id), PAGE):
        if time.perf_counter() - t > 60:
            raise RuntimeError("the account did not show up as active in `accounts` in 60 s")
        await asyncio.sleep(0.1)
    say(f"account {account_id} (page {PAGE}) active after {time.perf_counter() - t:.1f} s")

    deliveries = build_deliveries(count, seed)
    await warm_up(senders)
    web_urls = [str(c.base_url) for c in senders]
    server_before = await server_ack_buckets(web_urls)
    pace = f", paced at {rate:g}/s" if rate else ", as fast as acknowledged"
    say(f"{count} deliveries built and signed ({deliveries.with_phone} with a phone number, "
        f"{deliveries.with_email} with an e-mail address); sending with concurrency "
        f"{concurrency}{pace}")
    if start_at is not None and start_at > time.time():
        say(f"the first delivery waits {start_at - time.time():.0f} s, until "
            f"{datetime.fromtimestamp(start_at, UTC):%H:%M:%S} UTC")
        await asyncio.sleep(start_at - time.time())

    latencies: list[float] = []
    errors: dict[str, int] = {}
    accepted = 0
    sent = 0
    next_index = 0
    first_send_wall = 0.0
    last_ack = 0.0
    behind_max = 0.0  # paced: how late a send started against its schedule
    account_uuid = uuid.UUID(account_id)

    async def sender(client: Sender) -> None:
        nonlocal next_index, sent, accepted, last_ack, first_send_wall, behind_max
        while next_index < count:
            index = next_index
            body, signature = deliveries.bodies[index]
            next_index += 1
            if rate:
                due = began + index / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    behind_max = max(behind_max, -wait)
            if not first_send_wall:
                first_send_wall = time.time()
            sent += 1
            t0 = time.perf_counter()
            try:
                status, answer = await client.post("/webhooks/meta", body, {
                    "content-type": "application/json", "X-Hub-Signature-256": signature})
            except RawHttpError as exc:
                key = str(exc)
                errors[key] = errors.get(key, 0) + 1
                continue
            t1 = time.perf_counter()
            if status != 200:
                key = f"HTTP {status}"
                errors[key] = errors.get(key, 0) + 1
                continue
            latencies.append(t1 - t0)
            last_ack = t1
            accepted += json.loads(answer).get("accepted", 0)

    async def counts() -> tuple[int, int]:
        row = await db.fetchrow(
            "SELECT (SELECT count(*) FROM intake WHERE account_ref = $1) AS intake, "
            "(SELECT count(*) FROM message_cases WHERE account_id = $2) AS cases",
            PAGE, account_uuid)
        return int(row["intake"]), int(row["cases"])

    last_line = {"at": time.perf_counter(), "acked": 0, "cases": 0}

    async def line() -> str:
        intake, cases = await counts()
        now = time.perf_counter()
        dt = max(now - last_line["at"], 1e-9)
        acked = len(latencies)
        ack_rate = (acked - last_line["acked"]) / dt
        case_rate = (cases - last_line["cases"]) / dt
        last_line.update(at=now, acked=acked, cases=cases)
        return (f"storm {now - began:6.1f} s  sent {sent}/{count}  acked {acked}  "
                f"errors {sum(errors.values())}  intake {intake}  in inbox {cases}  "
                f"acks {ack_rate:5.0f}/s  inbox {case_rate:5.1f}/s  {cpu.recent_line()}")

    snap0 = cpu.sample()
    began = time.perf_counter()
    async with background(progress(line)):
        await asyncio.gather(*(sender(client) for client in senders))
        send_done = time.perf_counter()
        snap_sent = cpu.sample()
        server_ack = server_ack_figures(server_before, await server_ack_buckets(web_urls))
        send_seconds = (last_ack or send_done) - began
        say(f"all {count} sent in {send_seconds:.1f} s ({len(latencies)} acked, "
            f"{sum(errors.values())} errors); waiting for the cases in the inbox")
        cases = 0
        last_growth = time.perf_counter()
        stalled = False
        while True:
            _, now_cases = await counts()
            if now_cases != cases:
                cases, last_growth = now_cases, time.perf_counter()
            if cases >= accepted:
                break
            if time.perf_counter() - last_growth > stall_timeout:
                stalled = True
                say(f"no new case for {stall_timeout:.0f} s: giving up at {cases}/{accepted}")
                break
            await asyncio.sleep(0.25)
        observed_done = time.perf_counter()
        snap_inbox = cpu.sample()
        settled = await wait_settled(db, temporal, task_queue, began, stall_timeout)
    snap1 = cpu.sample()

    # Exact times from the database (the same machine clock as time.time()).
    last_case = await db.fetchval(
        "SELECT max(e.recorded_at) FROM events e JOIN message_cases c "
        "ON c.case_id = e.stream_id AND e.version = 1 WHERE c.account_id = $1", account_uuid)
    inbox_seconds = (last_case.timestamp() - first_send_wall) if last_case else None
    case_latency = await db.fetchrow(
        """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99, max(d) AS max
        FROM (SELECT extract(epoch FROM e.recorded_at - i.received_at) AS d
              FROM intake i JOIN events e
                ON e.stream_id = 'message:facebook:' || i.external_id AND e.version = 1
              WHERE i.account_ref = $1) s
        """, PAGE)
    intake = await db.fetchrow(
        "SELECT count(*) AS rows, count(started_at) AS started, "
        "count(last_error) AS with_error, max(attempts) AS max_attempts, "
        "max(started_at) AS last_started FROM intake WHERE account_ref = $1", PAGE)
    flags = await db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE flags @> '[{"kind": "phone_number"}]') AS phone,
               count(*) FILTER (WHERE flags @> '[{"kind": "email"}]') AS email,
               count(*) FILTER (WHERE flags <> '[]') AS any_flag
        FROM message_cases WHERE account_id = $1
        """, account_uuid)
    stages = {r["stage"]: r["n"] for r in await db.fetch(
        "SELECT stage, count(*) AS n FROM message_cases WHERE account_id = $1 GROUP BY stage",
        account_uuid)}

    inbox_times = [r["t"].timestamp() for r in await db.fetch(
        "SELECT e.recorded_at AS t FROM events e JOIN message_cases c "
        "ON c.case_id = e.stream_id AND e.version = 1 WHERE c.account_id = $1 "
        "ORDER BY e.recorded_at", account_uuid)]
    received = {r["case_id"]: r["t"].timestamp() for r in await db.fetch(
        "SELECT 'message:' || platform || ':' || external_id AS case_id, received_at AS t "
        "FROM intake WHERE account_ref = $1", PAGE)}
    first_tasks = await first_task_times(temporal, list(received))
    settled_latency = sorted(first_tasks[c] - received[c] for c in first_tasks)
    pacing = {
        "into_the_inbox": thousands(inbox_times, first_send_wall),
        "settled": thousands(sorted(first_tasks.values()), first_send_wall),
        "settled_cases_read": len(first_tasks),
    }

    ms = sorted(x * 1000 for x in latencies)
    inbox_rate = cases / inbox_seconds if inbox_seconds else None
    feeder_seconds = ((intake["last_started"].timestamp() - first_send_wall)
                      if intake["last_started"] else None)
    return {
        "messages": count,
        "concurrency": concurrency,
        "web_processes": len({str(c.base_url) for c in senders}),
        "rate_limit_per_s": rate or None,
        "paced_sends_behind_schedule_max_s": round(behind_max, 3) if rate else None,
        "acked": len(latencies),
        "accepted": accepted,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "send_seconds": round(send_seconds, 3),
        "intake_rate_per_s": round(len(latencies) / send_seconds, 1) if send_seconds else None,
        "ack_ms": {
            "p50": _r(percentile(ms, 50)), "p90": _r(percentile(ms, 90)),
            "p99": _r(percentile(ms, 99)), "max": _r(ms[-1] if ms else None),
            "mean": _r(sum(ms) / len(ms) if ms else None),
        },
        # The web's own histogram: arrival to the answer's start, without the
        # client's share (the sending client runs on the same 2 cores).
        "server_ack": server_ack,
        "cases_in_inbox": cases,
        "complete": cases >= count and not stalled,
        "inbox_seconds": _r(inbox_seconds, 3),
        "inbox_seconds_observed_by_polling": round(observed_done - began, 3),
        "settled": settled,
        "settled_messages_per_s": (_r(cases / settled["seconds"], 2)
                                   if settled.get("seconds") else None),
        "messages_per_s": _r(inbox_rate, 2),
        "feeder": {
            "intake_rows": intake["rows"], "started": intake["started"],
            "rows_with_error": intake["with_error"], "max_attempts": intake["max_attempts"],
            "starts_per_s": _r(intake["started"] / feeder_seconds if feeder_seconds else None, 2),
        },
        "case_latency_s": {  # intake.received_at -> the case's first event recorded
            "p50": _r(case_latency["p50"], 2), "p99": _r(case_latency["p99"], 2),
            "max": _r(case_latency["max"], 2)},
        # intake.received_at -> the workflow's first task completed (Temporal's clock)
        "settled_latency_s": {
            "p50": _r(percentile(settled_latency, 50), 2),
            "p99": _r(percentile(settled_latency, 99), 2),
            "max": _r(settled_latency[-1] if settled_latency else None, 2)},
        "pace": pacing,
        "screening": {
            "sent_with_phone": deliveries.with_phone, "flagged_phone": flags["phone"],
            "sent_with_email": deliveries.with_email, "flagged_email": flags["email"],
            "flagged_any": flags["any_flag"]},
        "stages": stages,
        "cpu_cores": {
            "sending": CpuSampler.cores(snap0, snap_sent),
            "whole_storm": CpuSampler.cores(snap0, snap_inbox),
            "after_sending": CpuSampler.cores(snap_sent, snap_inbox),
            "until_settled": CpuSampler.cores(snap0, snap1),
        },
    }


SETTLE_SAMPLE = 100  # the most recently started cases checked for their first task
PACE_BLOCK = 1000  # "the first thousand" and "the last thousand" of issue 15


def thousands(times: Sequence[float], began: float, block: int = PACE_BLOCK) -> dict[str, Any]:
    """Whether the pace holds as the work grows: the rate of the first and of
    the last `block` cases (sorted completion times, seconds since the epoch)
    and their ratio (issue 15: the last no slower than 0.9 x the first)."""
    if len(times) < 2 * block:
        return {"block": block, "cases": len(times), "first_per_s": None, "last_per_s": None,
                "last_to_first": None}
    first = block / (times[block - 1] - began) if times[block - 1] > began else None
    last_span = times[-1] - times[-block - 1]
    last = block / last_span if last_span > 0 else None
    return {"block": block, "cases": len(times), "first_per_s": _r(first, 2),
            "last_per_s": _r(last, 2),
            "last_to_first": _r(last / first, 3) if first and last else None}


async def first_task_times(temporal: Client, workflow_ids: Sequence[str],
                           concurrency: int = 32) -> dict[str, float]:
    """When each case's workflow completed its first workflow task (its
    history's first WorkflowTaskCompleted event; Temporal's clock, the same
    machine), read after the run so the reading costs the storm nothing."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

    done: dict[str, float] = {}
    slots = asyncio.Semaphore(concurrency)
    began = time.perf_counter()
    next_say = began + PROGRESS_EVERY

    async def one(workflow_id: str) -> None:
        nonlocal next_say
        async with slots:
            try:
                h = await temporal.workflow_service.get_workflow_execution_history(
                    GetWorkflowExecutionHistoryRequest(
                        namespace=temporal.namespace, maximum_page_size=8,
                        execution=WorkflowExecution(workflow_id=workflow_id)))
            except Exception:
                return  # never started
        for e in h.history.events:
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                done[workflow_id] = e.event_time.ToDatetime(tzinfo=UTC).timestamp()
                break
        now = time.perf_counter()
        if now >= next_say:
            next_say = now + PROGRESS_EVERY
            say(f"reading first-task times: {len(done)}/{len(workflow_ids)}")

    await asyncio.gather(*(one(w) for w in workflow_ids))
    say(f"first-task times of {len(done)}/{len(workflow_ids)} cases read in "
        f"{time.perf_counter() - began:.1f} s")
    return done


async def wait_settled(db: asyncpg.Pool, temporal: Client, task_queue: str, began: float,
                       stall_timeout: float) -> dict[str, Any]:
    """Since the feeder records a case's receipt before it starts the
    workflow, a case is in the inbox before its workflow has run at all. This
    waits until the workflows have caught up: the task queue has no workflow
    task backlog and the last SETTLE_SAMPLE cases the feeder started (and any
    it has not yet marked started) have completed their first workflow task
    (history length >= 4). Returns the seconds from the first send."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import (
        DescribeTaskQueueRequest,
        DescribeWorkflowExecutionRequest,
    )

    ids = [r["case_id"] for r in await db.fetch(
        """
        SELECT 'message:' || platform || ':' || external_id AS case_id FROM intake
        WHERE account_ref = $1 ORDER BY started_at DESC NULLS FIRST LIMIT $2
        """, PAGE, SETTLE_SAMPLE)]
    ns = temporal.namespace
    slots = asyncio.Semaphore(16)

    async def history_length(workflow_id: str) -> int:
        async with slots:
            try:
                d = await temporal.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=ns, execution=WorkflowExecution(workflow_id=workflow_id)))
            except Exception:
                return 0  # not started yet
            return int(d.workflow_execution_info.history_length)

    async def backlog() -> int | None:
        try:
            d = await temporal.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=ns, task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, report_stats=True))
        except Exception:
            return None
        return int(d.stats.approximate_backlog_count) if d.HasField("stats") else None

    first_backlog = await backlog()
    last_progress = time.perf_counter()
    before: tuple[int, int | None] = (len(ids) + 1, None)
    next_say = time.perf_counter() + PROGRESS_EVERY
    while True:
        lengths = await asyncio.gather(*(history_length(i) for i in ids))
        waiting = sum(1 for n in lengths if n < 4)
        queued = await backlog()
        now = time.perf_counter()
        if waiting == 0 and not queued:
            return {"seconds": round(now - began, 3), "backlog_when_inbox_complete":
                    first_backlog, "sample": len(ids), "complete": True}
        if (waiting, queued) != before:
            before, last_progress = (waiting, queued), now
        if now - last_progress > stall_timeout:
            say(f"workflows not settled after {stall_timeout:.0f} s without progress")
            return {"seconds": None, "backlog_when_inbox_complete": first_backlog,
                    "sample": len(ids), "complete": False}
        if now >= next_say:
            say(f"settling {now - began:6.1f} s  workflow task backlog {queued}  "
                f"{waiting}/{len(ids)} of the last started cases before their first task")
            next_say = now + PROGRESS_EVERY
        await asyncio.sleep(0.5)


def _r(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


# --------------------------------------------------------------------------
# Machine details


def machine_details(temporal_bin: Path | None) -> dict[str, Any]:
    cpu_model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = round(int(line.split()[1]) / 1024 / 1024, 1)
    cli = "?"
    if temporal_bin is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            cli = subprocess.run([str(temporal_bin), "--version"], capture_output=True,
                                 text=True, timeout=20).stdout.strip()
    versions: dict[str, str | None] = {}
    for dist in ("temporalio", "httpx", "asyncpg", "fastapi", "uvicorn", "pgserver"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": mem_total,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "temporal_cli": cli,
    }


def temporal_storage(pid: int | None) -> dict[str, Any]:
    """How the dev server was actually started (from its command line)."""
    if pid is None:
        return {}
    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return {}
    pragmas = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--sqlite-pragma"]
    return {"sqlite_file": True, "sqlite_pragmas": pragmas}


def feeder_settings() -> dict[str, Any]:
    import inspect

    params = inspect.signature(IntakeFeeder.__init__).parameters
    out = {name: params[name].default for name in ("batch", "concurrency") if name in params}
    run = inspect.signature(IntakeFeeder.run).parameters
    if "idle_seconds" in run:
        out["idle_seconds"] = run["idle_seconds"].default
    return out


# --------------------------------------------------------------------------
# The run


def _pace_line(pace: dict[str, Any]) -> str:
    def one(name: str) -> str:
        p = pace.get(name) or {}
        return (f"{name.replace('_', ' ')} {p.get('first_per_s')} -> {p.get('last_per_s')}/s "
                f"(x{p.get('last_to_first')})")
    return f"{one('into_the_inbox')}; {one('settled')}"


def _server_ack_line(figures: dict[str, Any]) -> str:
    share = figures.get("share_within_s") or {}
    return (f"p99 at most {figures.get('p99_at_most_s')} s; within 25/50/100 ms: "
            f"{share.get('0.025')} / {share.get('0.05')} / {share.get('0.1')} "
            f"of {figures.get('acks')}")


def pin_web(groups: dict[str, tuple[int, bool]]) -> str:
    """--web-cpu: the web processes get the machine's last CPU to themselves
    and the rest of the stack (Temporal, workers, feeders, PostgreSQL, with
    their children) the others, as deploy/k8s gives the web CPUs of its own.
    This script itself is left to the scheduler."""
    cpus = sorted(psutil.Process().cpu_affinity() or [])
    if len(cpus) < 2:
        raise RuntimeError("--web-cpu needs at least two CPUs")
    web_cpus, rest_cpus = cpus[-1:], cpus[:-1]
    for name, (pid, _) in groups.items():
        if name == "bench":
            continue
        process = psutil.Process(pid)
        for each in (process, *process.children(recursive=True)):
            # Every thread: an affinity set on a process binds only its
            # main thread, and the runtimes' threads already run.
            with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                for thread in each.threads():
                    os.sched_setaffinity(thread.id, web_cpus if name.startswith("web")
                                         else rest_cpus)
    return f"web processes pinned to CPU {web_cpus}, the rest of the stack to CPUs {rest_cpus}"


def report(result: dict[str, Any]) -> str:
    c = result.get("ceiling") or {}
    s = result.get("storm") or {}
    ack = s.get("ack_ms", {})
    rows = [
        ("machine", f"{result['machine']['nproc']} cores, {result['machine']['cpu_model']}, "
                    f"{result['machine']['memory_gib']} GiB"),
        ("ceiling (no-op wf/s)", f"{c.get('workflows_per_s')}  ({c.get('completed')} of "
                                 f"{c.get('workflows')} in {c.get('seconds')} s)"),
        ("processes", f"{(result.get('parameters') or {}).get('workers', 1)} worker(s), "
                      f"{(result.get('parameters') or {}).get('webs', 1)} web process(es)"
                      + (", the web on a CPU of its own"
                         if (result.get("parameters") or {}).get("web_cpu_of_its_own")
                         else "")),
        ("storm messages", f"{s.get('messages')} at concurrency {s.get('concurrency')}"
                           + (f", paced at {s['rate_limit_per_s']:g}/s"
                              if s.get("rate_limit_per_s") else "")
                           + f", {s.get('errors')} errors (non-200)"),
        ("client", str(s.get("client"))),
        ("intake rate (acks/s)", f"{s.get('intake_rate_per_s')}  (sent in "
                                 f"{s.get('send_seconds')} s)"),
        ("ack latency ms", f"p50 {ack.get('p50')}  p90 {ack.get('p90')}  p99 {ack.get('p99')}  "
                           f"max {ack.get('max')}"),
        ("ack, server's own histogram", _server_ack_line(s.get("server_ack") or {})),
        ("into the inbox (msg/s)", f"{s.get('messages_per_s')}  ({s.get('cases_in_inbox')} cases "
                                   f"in {s.get('inbox_seconds')} s)"),
        ("ratio to ceiling", f"{result.get('ratio_to_ceiling')}"),
        ("workflows settled (msg/s)", f"{s.get('settled_messages_per_s')}  (ratio "
                                      f"{result.get('ratio_settled_to_ceiling')}; first send -> "
                                      f"no backlog, last cases past their first task: "
                                      f"{(s.get('settled') or {}).get('seconds')} s)"),
        ("case latency s", f"{s.get('case_latency_s')}  (received -> in the inbox)"),
        ("settled latency s", f"{s.get('settled_latency_s')}  (received -> first task done)"),
        ("pace, first/last 1,000", _pace_line(s.get("pace") or {})),
        *((f"target {k.replace('_', ' ')}", str(v)) for k, v in result["targets"].items()),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["", "=" * 78, "  Storm benchmark", "-" * 78,
             *(f"  {k:<{width}}  {v}" for k, v in rows), "-" * 78, "  CPU, average cores used:"]
    for phase, cores in (("ceiling", c.get("cpu_cores")),
                         ("storm, sending", s.get("cpu_cores", {}).get("sending")),
                         ("storm, whole", s.get("cpu_cores", {}).get("whole_storm"))):
        if cores:
            lines.append(f"    {phase:<16} " + "  ".join(f"{k} {v:.2f}" for k, v in cores.items()))
    lines += ["=" * 78, ""]
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    hurry = asyncio.Event()
    state = {"interrupted": False, "stopping": False}

    def on_signal(sig: signal.Signals) -> None:
        if state["interrupted"] or state["stopping"]:
            say(f"{sig.name} again: stopping without waiting")
            hurry.set()
            return
        say(f"{sig.name}: stopping the stack")
        state["interrupted"] = True
        main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    base = fresh_stack_environment("kanalvakt-storm-")
    # The stack's worker's metrics port: a free one, not the default 9464
    # another stack on this machine may hold.
    os.environ["KANALVAKT_WORKER_HEALTH_PORT"] = str(free_ports(1)[0])
    state_dir = base.state_dir
    config = dataclasses.replace(
        base,
        worker_command=logged(state_dir / "worker.log",
                              shlex.split(args.worker_command) if args.worker_command
                              else base.effective_worker_command),
        web_command=logged(state_dir / "web.log", base.effective_web_command),
    )
    try:
        temporal_bin: Path | None = find_temporal_binary()
    except StackError:
        temporal_bin = None
    count = args.messages
    ceiling_count = args.ceiling_workflows or min(count, 2000)
    started_utc = datetime.now(UTC)
    result: dict[str, Any] = {
        "benchmark": "storm",
        "started_utc": started_utc.isoformat(timespec="seconds"),
        "machine": machine_details(temporal_bin),
        "parameters": {"messages": count, "concurrency": args.concurrency,
                       "ceiling_workflows": ceiling_count, "seed": args.seed,
                       "rate_per_s": args.rate or None,
                       "worker_command": args.worker_command, "feeders": args.feeders,
                       "workers": args.workers, "webs": args.webs,
                       "web_cpu_of_its_own": args.web_cpu,
                       "stall_timeout_s": args.stall_timeout,
                       # deploy.stack gives the children a bytecode cache
                       # (in the state folder where the environment forbids one).
                       "environment_PYTHONDONTWRITEBYTECODE":
                           os.environ.get("PYTHONDONTWRITEBYTECODE")},
        "targets": {},
    }
    say(f"state folder {state_dir} (worker.log, web.log, temporal.log there); ports: "
        f"Temporal {base.temporal_port}, UI {base.temporal_ui_port}, web {base.web_port}")
    stack = Stack(config, hurry)
    code = 0
    keep = args.keep_state
    cpu_task: asyncio.Future[None] | None = None
    feeders: list[asyncio.subprocess.Process] = []
    more_workers: list[asyncio.subprocess.Process] = []
    more_webs: list[asyncio.subprocess.Process] = []
    more_web_urls: list[str] = []
    try:
        await stack.start()
        print(stack.summary(), flush=True)
        feeders = await start_feeders(stack, args.feeders - 1, state_dir)
        more_workers = await start_workers(
            stack, args.workers - 1, state_dir,
            shlex.split(args.worker_command) if args.worker_command
            else [sys.executable, "-m", "worker"])
        more_webs, more_web_urls = await start_webs(stack, args.webs - 1, state_dir)
        assert stack.database_url is not None
        pg = await asyncpg.connect(stack.database_url)
        try:
            result["machine"]["postgresql"] = await pg.fetchval("SHOW server_version")
        finally:
            await pg.close()
        by_name = {child.name: child.process.pid for child in stack.children}
        temporal_pid = by_name.get("Temporal dev server")
        pg_pid = None
        with contextlib.suppress(Exception):
            pg_pid = int(stack._pg_server.get_pid())  # noqa: SLF001 - the stack's own handle
        groups: dict[str, tuple[int, bool]] = {}
        if temporal_pid:
            groups["temporal"] = (temporal_pid, True)
        groups["worker"] = (by_name["worker"], True)
        for n, feeder in enumerate(feeders, start=2):
            groups[f"feeder{n}"] = (feeder.pid, True)
        for n, extra in enumerate(more_workers, start=2):
            groups[f"worker{n}"] = (extra.pid, True)
        groups["web"] = (by_name["web app"], True)
        for n, extra in enumerate(more_webs, start=2):
            groups[f"web{n}"] = (extra.pid, True)
        if pg_pid:
            groups["postgres"] = (pg_pid, True)
        groups["bench"] = (os.getpid(), False)
        say("pids (for ps/top/py-spy): " + ", ".join(f"{k} {v[0]}" for k, v in groups.items()))
        if args.web_cpu:
            say(pin_web(groups))
        cpu = CpuSampler(groups)
        cpu_task = asyncio.ensure_future(cpu.run())
        result["stack"] = {
            "temporal": temporal_storage(temporal_pid),
            "worker": f"python -m worker (default Worker options), {args.workers} "
                      f"process{'es' if args.workers > 1 else ''}, each with its feeder",
            "extra_feeders": f"{len(feeders)} x python -m worker --feeder-only",
            "feeder": feeder_settings(),
            "web": f"uvicorn web.app:app, {args.webs} process{'es' if args.webs > 1 else ''}",
            "postgres": "embedded (pgserver), default settings",
        }

        result["ceiling"] = await measure_ceiling(
            config.effective_temporal_address, ceiling_count, args.concurrency, cpu)
        result["storm"] = await run_storm(stack, count, args.concurrency, args.seed,
                                          args.rate, args.stall_timeout, cpu, more_web_urls,
                                          client=args.client)
        ceiling_rate = result["ceiling"]["workflows_per_s"]
        storm_rate = result["storm"]["messages_per_s"]
        ratio = round(storm_rate / ceiling_rate, 3) if storm_rate and ceiling_rate else None
        result["ratio_to_ceiling"] = ratio
        settled_rate = result["storm"].get("settled_messages_per_s")
        result["ratio_settled_to_ceiling"] = (round(settled_rate / ceiling_rate, 3)
                                              if settled_rate and ceiling_rate else None)
        p99 = result["storm"]["ack_ms"]["p99"]
        settled_ratio = result["ratio_settled_to_ceiling"]
        pace = result["storm"].get("pace") or {}
        result["targets"] = {  # issue 15
            "inbox_and_settled_at_least_0.8_of_ceiling":
                ratio is not None and settled_ratio is not None
                and min(ratio, settled_ratio) >= 0.8,
            "last_thousand_at_least_0.9_of_first": all(
                (pace.get(k) or {}).get("last_to_first") is not None
                and pace[k]["last_to_first"] >= 0.9 for k in ("into_the_inbox", "settled")),
            "ack_p99_below_50ms": p99 is not None and p99 < 50,
        }
    except asyncio.CancelledError:
        say("interrupted")
        code = 130
        keep = True
    except StackError as exc:
        say(f"cannot start the stack: {exc}")
        code = 1
        keep = True
    except Exception:
        say("failed:\n" + traceback.format_exc())
        code = 1
        keep = True
    finally:
        state["stopping"] = True
        for extra in (*feeders, *more_workers, *more_webs):
            await stop_process(extra)
        if cpu_task is not None:
            cpu_task.cancel()
        say("stopping the stack")
        try:
            await stack.stop()
        except BaseException:
            say("stopping failed:\n" + traceback.format_exc())
            code = code or 1
            keep = True

    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if "storm" in result:
        print(report(result), flush=True)
        write_results("storm", result, started_utc)
    keep_or_remove(state_dir, keep)
    return code


async def start_feeders(stack: Stack, count: int, state_dir: Path
                        ) -> list[asyncio.subprocess.Process]:
    """`count` more `python -m worker --feeder-only` processes beside the
    stack's worker (which feeds too), with the stack's environment for its
    children; each logs to feeder-<n>.log in the state folder. Feeders claim
    intake rows with FOR UPDATE SKIP LOCKED, so they share the work."""
    env = stack._child_env()  # noqa: SLF001 - the environment the stack gives its children
    out = []
    for n in range(2, count + 2):
        log = (state_dir / f"feeder-{n}.log").open("ab")
        out.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", "--feeder-only", cwd=str(settings.ROOT), env=env,
            stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True))
        log.close()
    if out:
        say(f"{len(out)} more feeder processes: pids {', '.join(str(p.pid) for p in out)}")
    return out


async def start_workers(stack: Stack, count: int, state_dir: Path, argv: Sequence[str]
                        ) -> list[asyncio.subprocess.Process]:
    """`count` more worker processes beside the stack's (issue 12: scale-out),
    each with its intake feeder and a metrics and health port of its own;
    each logs to worker-<n>.log in the state folder. Ready when /readyz
    answers 200 (polling Temporal)."""
    if count < 1:
        return []
    env = stack._child_env()  # noqa: SLF001 - the environment the stack gives its children
    out = []
    ports = free_ports(count)
    for n, port in enumerate(ports, start=2):
        log = (state_dir / f"worker-{n}.log").open("ab")
        out.append(await asyncio.create_subprocess_exec(
            *argv, cwd=str(settings.ROOT),
            env={**env, "KANALVAKT_WORKER_HEALTH_HOST": "127.0.0.1",
                 "KANALVAKT_WORKER_HEALTH_PORT": str(port), "KANALVAKT_SERVICE": f"worker{n}"},
            stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True))
        log.close()
    for port in ports:
        await wait_for_url(f"http://127.0.0.1:{port}/readyz", "a worker's readiness")
    say(f"{len(out)} more worker processes: pids {', '.join(str(p.pid) for p in out)}")
    return out


async def start_webs(stack: Stack, count: int, state_dir: Path
                     ) -> tuple[list[asyncio.subprocess.Process], list[str]]:
    """`count` more web processes (uvicorn web.app:app) on free ports beside
    the stack's; each logs to web-<n>.log in the state folder."""
    if count < 1:
        return [], []
    env = stack._child_env()  # noqa: SLF001 - the environment the stack gives its children
    out, urls = [], []
    for n, port in enumerate(free_ports(count), start=2):
        log = (state_dir / f"web-{n}.log").open("ab")
        out.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1",
            "--port", str(port), cwd=str(settings.ROOT),
            env={**env, "KANALVAKT_WEB_PORT": str(port), "KANALVAKT_SERVICE": f"web{n}"},
            stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True))
        log.close()
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        await wait_for_url(f"{url}/livez", "a web process")
    say(f"{len(out)} more web processes: {', '.join(urls)}")
    return out, urls


async def wait_for_url(url: str, what: str, seconds: float = 120) -> None:
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if time.perf_counter() - began > seconds:
                raise RuntimeError(f"{what} did not answer 200 at {url} in {seconds:.0f} s")
            await asyncio.sleep(0.25)


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (the feeder finishes its batch and stops), then SIGKILL after 10 s."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        async with asyncio.timeout(10):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()


def fresh_stack_environment(prefix: str) -> StackConfig:
    """A temporary state folder and free ports for a stack of the run's own,
    set in os.environ for the children (the stack copies it into theirs);
    returns the stack's configuration for them."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    temporal_port, ui_port, web_port = free_ports(3)
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS"):
        os.environ.pop(name, None)
    os.environ.update(
        KANALVAKT_STATE_DIR=str(state_dir), KANALVAKT_ARCHIVE_DIR=str(state_dir / "archive"),
        TEMPORAL_PORT=str(temporal_port), TEMPORAL_UI_PORT=str(ui_port),
        KANALVAKT_WEB_PORT=str(web_port), META_APP_SECRET=APP_SECRET)
    return StackConfig(state_dir=state_dir, archive_dir=state_dir / "archive",
                       temporal_port=temporal_port, temporal_ui_port=ui_port, web_port=web_port)


def write_results(kind: str, result: dict[str, Any], started_utc: datetime, *,
                  tell: Callable[[str], None] = say) -> None:
    """bench/results/<kind>-<UTC start>.json (git-ignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{kind}-{started_utc.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    tell(f"results written to {out.relative_to(settings.ROOT)}")


def keep_or_remove(state_dir: Path, keep: bool, *, tell: Callable[[str], None] = say) -> None:
    """The run's state folder: kept when asked or when something failed."""
    if keep:
        tell(f"state folder kept: {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storm",
        description="N signed Meta webhook deliveries on one account against the local "
                    "stack, compared with the no-op-workflow rate of the same Temporal server.")
    parser.add_argument("--messages", type=int, default=10_000,
                        help="deliveries (one comment each) to send (default 10000)")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="requests in flight, and workflow starts in flight for the "
                             "ceiling (default 64)")
    parser.add_argument("--ceiling-workflows", type=int, default=None,
                        help="no-op workflows for the ceiling (default min(messages, 2000))")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: start deliveries at this many per second (still at "
                             "most --concurrency in flight); default 0 = as fast as acked")
    parser.add_argument("--feeders", type=int, default=1,
                        help="intake feeder processes: the worker's own and K-1 more "
                             "`python -m worker --feeder-only` (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (`python -m worker`, each with its intake "
                             "feeder): the stack's own and K-1 more (default 1)")
    parser.add_argument("--webs", type=int, default=1,
                        help="web processes the deliveries are spread over: the stack's own "
                             "and W-1 more (default 1)")
    parser.add_argument("--worker-command", default=None,
                        help="run this instead of `python -m worker` (to measure a candidate "
                             "change without editing the worker); split like a shell would")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep the temporary state folder (databases, logs)")
    parser.add_argument("--web-cpu", action="store_true",
                        help="give the web processes the last CPU to themselves and the rest "
                             "of the stack the others (as a deployment gives the web CPUs of "
                             "its own); this script is not pinned")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw",
                        help="how the deliveries are sent: raw = each HTTP/1.1 request "
                             "as one buffer on one keep-alive connection per sender (little "
                             "client CPU), "
                             "httpx = one httpx.AsyncClient per sender (default raw)")
    parser.add_argument("--seed", type=int, default=20261121,
                        help="seed for the message texts (default 20261121)")
    parser.add_argument("--stall-timeout", type=float, default=180.0,
                        help="give up waiting for the inbox after this many seconds without "
                             "a new case (default 180)")
    args = parser.parse_args(argv)
    if min(args.messages, args.concurrency, args.feeders, args.workers, args.webs) < 1:
        parser.error("--messages, --concurrency, --feeders, --workers and --webs must be "
                     "at least 1")
    # pgserver narrates every pg_ctl call at INFO; platformdirs warns about XDG_RUNTIME_DIR.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    return asyncio.run(amain(args))


def exit_now(code: int) -> None:
    """Exit without interpreter finalisation: temporalio's native runtime can
    crash it (sdk-python#300; see deploy/stack.py). Everything is stopped by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
