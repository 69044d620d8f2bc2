"""Mail benchmark (issue 13): how many notification mails per second the
outbox sender delivers to the local stack's SMTP server, and how long a
notification waits in the outbox before the relay has it. A script, not a
test:

    .venv/bin/python -m bench.mail --people 1000 --latency 200

1. Starts an embedded PostgreSQL (pgserver) in a temporary folder, applies
   the migrations, loads Exempelby's directory plus `--people` made-up staff
   with addresses, and one active account.
2. Starts the local stack's SMTP server (`python -m deploy.mail_server`, the
   process `python3 dev.py stack` runs) writing .eml files into the folder.
3. Throughput: one notification per person written at once (each is one
   mail), then the sender (`OutboxSender`, the worker's loop) drains the
   outbox; mails/s = mails / seconds until the last is marked sent; the
   .eml files are counted.
4. Delay: the sender runs as in the worker (polling every
   KANALVAKT_OUTBOX_POLL_SECONDS, 2 s) while `--latency` notifications are
   written at 20/s; the delay is the row's sent_at minus its created_at
   (p50, p95, max).
5. Writes bench/results/mail-<UTC timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from adapters.mail import SmtpSettings
from bench.storm import keep_or_remove, machine_details, write_results
from outbox_sender import OutboxSender, SenderPolicy
from store.db import create_pool, migrate
from store.directory import DirectoryRepository, parse_directory_yaml

ACCOUNT = uuid.UUID("7d2c7a4e-1b7a-4a55-9d57-000000000001")


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


async def _setup(pool: asyncpg.Pool, people: int) -> list[str]:
    from tests.support import EXEMPELBY  # from a source tree, as above

    await DirectoryRepository(pool).load(parse_directory_yaml(EXEMPELBY.read_text("utf-8")))
    ids = [f"bench.person{i:05d}" for i in range(people)]
    await pool.executemany(
        "INSERT INTO people (municipality_id, id, name, email, unit, active) "
        "VALUES ('exempelby', $1, $2, $3, 'kultur', true)",
        [(p, f"Person {p[-5:]}", f"{p}@exempelby.se") for p in ids])
    await pool.execute(
        """INSERT INTO accounts (account_id, stream_id, workflow_id, municipality_id, unit_id,
               platform, account_name, stage, requester, requested_at, updated_at, version,
               state) VALUES ($1, $2, 'account:exempelby:bench', 'exempelby', 'kultur',
               'facebook', 'Kulturhuset Ängen', 'active', 'elin.strand', now(), now(), 1, '{}')""",
        ACCOUNT, f"account-{ACCOUNT}")
    return ids


async def _notify(pool: asyncpg.Pool, recipients: Sequence[str]) -> None:
    now = datetime.now(UTC)
    await pool.executemany(
        """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage, due,
               created_at, case_id) VALUES ($1, $2, $3, 'escalation', 'manager', 'open', $4, $5,
               'message:facebook:bench')""",
        [(uuid.uuid4(), who, ACCOUNT, now + timedelta(hours=4), now) for who in recipients])


async def _wait_for_port(port: int, seconds: float = 20) -> None:
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("the SMTP server did not start")


async def amain(args: argparse.Namespace) -> int:
    import pgserver  # the `local` extra, not a dependency

    # The tests' helpers are not installed with Kanalvakt: imported when the
    # benchmark runs, from a source tree.
    from tests.servers import port_for_another_process

    state_dir = Path(tempfile.mkdtemp(prefix="kanalvakt-mail-"))
    started_utc = datetime.now(UTC)
    server = pgserver.get_server(str(state_dir / "pg"),
                                 cleanup_mode="stop" if args.keep_state else "delete")
    port = port_for_another_process()
    folder = state_dir / "mail"
    smtp = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.mail_server", "--folder", str(folder), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL)
    result: dict[str, Any] = {
        "benchmark": "mail", "started_utc": started_utc.isoformat(timespec="seconds"),
        "machine": machine_details(None),
        "parameters": {"people": args.people, "latency": args.latency,
                       "concurrency": args.concurrency},
    }
    try:
        await _wait_for_port(port)
        dsn = server.get_uri()
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=max(4, args.concurrency + 2))
        try:
            people = await _setup(pool, args.people)
            mail = SmtpSettings(host="127.0.0.1", port=port,
                                from_address="kanalvakt@exempelby.se",
                                public_base_url="http://localhost:8000")
            sender = OutboxSender(pool, mail, None, SenderPolicy(
                concurrency=args.concurrency, recipients_per_claim=4 * args.concurrency))
            # 1. throughput
            await _notify(pool, people)
            began = clock.perf_counter()
            while await sender.pump():
                pass
            took = clock.perf_counter() - began
            sent = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'")
            files = len(list(folder.glob("*.eml")))
            result["throughput"] = {"mails": sent, "eml_files": files,
                                    "seconds": round(took, 2),
                                    "mails_per_s": round(sent / took, 1)}
            say(f"{sent} mails in {took:.2f} s: {sent / took:,.1f} mails/s ({files} .eml files)")
            # 2. delay from the notification to the relay, the sender polling as in the worker
            stop = asyncio.Event()
            running = asyncio.create_task(sender.run(stop))
            first_id = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
            for i in range(args.latency):
                await _notify(pool, [people[i % len(people)]])
                await asyncio.sleep(0.05)
            while await pool.fetchval(  # noqa: ASYNC110 - polling the database
                    "SELECT count(*) FROM outbox WHERE id > $1 "
                                      "AND status <> 'sent'", first_id):
                await asyncio.sleep(0.2)
            stop.set()
            await running
            delays = [r["d"] for r in await pool.fetch(
                "SELECT extract(epoch FROM sent_at - created_at)::float8 AS d FROM outbox "
                "WHERE id > $1", first_id)]
            delays.sort()
            result["delay_seconds"] = {
                "n": len(delays), "p50": round(statistics.median(delays), 3),
                "p95": round(delays[int(0.95 * (len(delays) - 1))], 3),
                "max": round(delays[-1], 3), "poll_seconds": SenderPolicy().poll}
            say(f"notification -> relay: p50 {result['delay_seconds']['p50']} s, "
                f"p95 {result['delay_seconds']['p95']} s, max {result['delay_seconds']['max']} s")
        finally:
            await pool.close()
    finally:
        smtp.terminate()
        await asyncio.wait_for(smtp.wait(), timeout=10)
        server.cleanup()
    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({k: result[k] for k in ("throughput", "delay_seconds")}), flush=True)
    write_results("mail", result, started_utc, tell=say)
    keep_or_remove(state_dir, args.keep_state, tell=say)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mail",
        description="Notification mails/s to the local SMTP server, and the outbox delay.")
    parser.add_argument("--people", type=int, default=1000,
                        help="recipients, one mail each (default 1000)")
    parser.add_argument("--latency", type=int, default=200,
                        help="notifications written at 20/s for the delay (default 200)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="mails in flight at once (SenderPolicy.concurrency, default 8)")
    parser.add_argument("--keep-state", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # one line per delivered batch would measure the terminal
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
