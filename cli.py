"""The `kanalvakt` command line.

    kanalvakt migrate                           apply the SQL migrations
    kanalvakt directory load FILE               load a municipality's directory YAML
    kanalvakt directory show MUNICIPALITY       who manages, signs off and registers
    kanalvakt rebuild-read-models               replay every event into read models built
                                                beside the live ones, then swap them in
                                                (appends go on meanwhile)
    kanalvakt records export MUNICIPALITY --from DATE --to DATE [--account ID]
                                                a records export package for the registrar
    kanalvakt snapshots schedules               create or update every municipality's
                                                snapshot schedule in Temporal (R-37)
    kanalvakt intake status                     messages waiting to become cases, parked ones
    kanalvakt intake parked [--limit N]         the parked messages with their reasons
    kanalvakt intake retry (--all | PLATFORM:EXTERNAL_ID ...)
                                                send parked messages back to the feeder
    kanalvakt outbox list [--status S] [--limit N]
                                                notifications on their way (failed ones first)
    kanalvakt outbox retry (--all | ID ...)     send failed notifications again
    kanalvakt outbox run                        the outbox sender alone (no Temporal)
    kanalvakt outbox chat set MUNICIPALITY URL [--unit UNIT] [--format teams|generic]
    kanalvakt outbox chat remove MUNICIPALITY [--unit UNIT]
                                                a chat webhook for a municipality or unit

The database comes from --database-url or DATABASE_URL. Exit codes: 0 done,
1 the operation failed, 2 bad input (arguments, no database, invalid file).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import uvicorn
import yaml
from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError

import outbox_sender
import settings
import worker
from activities.crisis import send_crisis_settings
from codec import DataKeys, KeyRing, PayloadDecryptionError, PayloadKeyError, parse_keys
from deploy.temporal import (
    NamespaceNotReady,
    connect,
    connect_config,
    describe,
    prepare_namespace,
)
from domain.directory import Directory
from readviews.records import RecordsExportInput, export_records
from store.db import create_pool, migrate
from store.directory import DirectoryRepository, LoadReport, parse_directory_yaml
from store.eventstore import EventStore
from store.intake import IntakeRepository, RowKey
from store.outbox import OutboxRepository, remove_chat_webhook, set_chat_webhook
from store.payload_keys import PayloadKeyTable
from store.projections import all_projections, rebuild
from store.snapshots import policies, save_policy
from workflows.snapshot_starter import sync_snapshot_schedule
from workflows.starter import refresh_running_accounts

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


async def load_directory_file(dsn: str, path: Path) -> LoadReport:
    """Parse and load one directory file, migrating first.

    The file is parsed before the database is touched, so an invalid file
    (yaml.YAMLError, pydantic.ValidationError) writes nothing."""
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await _load(dsn, parse_directory_yaml(text))


async def _load(dsn: str, directory: Directory) -> LoadReport:
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        report = await DirectoryRepository(pool).load(directory)
        # the municipality's snapshot settings (municipality.snapshots).
        await save_policy(pool, directory.municipality.id, directory.municipality.snapshots)
        return report
    finally:
        await pool.close()


async def rebuild_read_models(dsn: str, *, progress: TextIO | None = None,
                              batch: int | None = None) -> int:
    """Rebuild every read model of the app from the events; return how many
    events were replayed. `progress` gets a line every few seconds (events
    done, rate, time left). The app's own projections are rebuilt beside the
    live tables while appends go on and swapped in at the end
    (store/projections/rebuild.py); others (unknown to the fast rebuild)
    event by event under a lock that holds appends back (EventStore.rebuild)."""

    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        projections = all_projections()
        if rebuild.covers(projections):  # issue 15 and 12: beside, swapped
            return await rebuild.rebuild(pool, batch=batch or rebuild.BATCH, progress=progress)
        return await EventStore(pool, projections).rebuild()
    finally:
        await pool.close()


def _say_error(message: str) -> None:
    print(message, file=sys.stderr)


def _file_errors(path: Path, exc: ValidationError | yaml.YAMLError) -> list[str]:
    """One `FILE: where: what` line per problem, the way editors and CI read them."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return [f"{path}: {where}: {exc.problem or exc.context or 'not valid YAML'}"]
    if isinstance(exc, yaml.YAMLError):
        return [f"{path}: not valid YAML: {exc}"]
    return [
        f"{path}: {'.'.join(str(p) for p in error['loc']) or '(whole file)'}: {error['msg']}"
        for error in exc.errors()
    ]


async def _migrate(dsn: str) -> int:
    applied = await migrate(dsn)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("nothing to apply: the database is up to date")
    return EXIT_OK


def _read_directory_file(path: Path) -> Directory | None:
    """The parsed file, or None after printing why it can't be loaded."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        _say_error(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    try:
        return parse_directory_yaml(text)
    except (ValidationError, yaml.YAMLError) as exc:
        for line in _file_errors(path, exc):
            _say_error(line)
        _say_error(f"{path}: not loaded; nothing was written")
        return None


async def _directory_load(dsn: str, directory: Directory, temporal_address: str | None) -> int:
    print((await _load(dsn, directory)).summary())
    if temporal_address != "":  # '' skips; None: Temporal's environment configuration
        await _tell_running_cases(temporal_address, directory.municipality.id, dsn)
    return EXIT_OK


async def _tell_running_cases(address: str | None, municipality_id: str, dsn: str | None = None
                              ) -> None:
    """Running account cases carry their unit's authorities; tell them to
    reload, so a new manager decides from now on. The directory is loaded
    either way: a Temporal server that cannot be reached is said, not fatal."""
    try:
        client = await asyncio.wait_for(connect(address), timeout=5)
        told = await refresh_running_accounts(client, municipality_id)
    except (OSError, RuntimeError, TimeoutError) as exc:
        _say_error(
            f"kanalvakt: the directory is loaded, but Temporal at "
            f"{describe(connect_config(address))} could not be "
            f"reached ({exc or type(exc).__name__}); running cases keep their old authorities "
            "until you load again with Temporal up"
        )
        return
    print(f"told {told} running account case(s) of {municipality_id} to reload their authorities")
    await _send_crisis_settings(client, municipality_id, dsn)
    directory = await _stored_directory_policy(municipality_id, dsn)
    if directory is not None:
        policy, timezone = directory
        outcome = await sync_snapshot_schedule(client, municipality_id, policy, timezone,
                                               task_queue=settings.load().task_queue)
        print(f"snapshot schedule snapshots:{municipality_id}: {outcome}")


async def _send_crisis_settings(client: Any, municipality_id: str, dsn: str | None) -> None:
    """R-39, R-43: the running crisis workflow takes the loaded crisis settings
    and roles (skipped when it does not run: it reads them when started)."""
    dsn = dsn or settings.load().database_url
    if not dsn:
        return
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        sent = await send_crisis_settings(pool, client, municipality_id)
    except WorkflowUpdateFailedError as refused:
        _say_error(f"kanalvakt: the crisis workflow of {municipality_id} refused the new "
                   f"crisis settings: {refused.cause or refused}")
        return
    finally:
        await pool.close()
    if sent is None:
        print(f"no crisis workflow of {municipality_id} is running; it reads the crisis "
              "settings when it starts")
    else:
        print(f"sent the crisis settings to crisis:{municipality_id}")


async def _stored_directory_policy(municipality_id: str, dsn: str | None
                                   ) -> tuple[Any, str] | None:
    dsn = dsn or settings.load().database_url
    if not dsn:
        return None
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        return (await policies(pool)).get(municipality_id)
    finally:
        await pool.close()


async def _records_export(dsn: str, municipality_id: str, start: date, end: date,
                          account_id: str | None, out: Path | None) -> int:
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    # the messages' texts are sealed under their cases' keys (issue 10)
    keys = parse_keys(settings.load().payload_keys)
    data_keys = DataKeys(KeyRing(keys), PayloadKeyTable(pool)) if keys else None
    try:
        ref = await export_records(pool, out or settings.load().archive_dir, RecordsExportInput(
            municipality_id=municipality_id, account_id=account_id, start=start, end=end,
            requested_by="kanalvakt-cli", now=datetime.now(UTC)), data_keys)
    except (LookupError, ValueError) as exc:
        _say_error(f"kanalvakt: {exc}")
        return EXIT_BAD_INPUT
    finally:
        await pool.close()
    print(f"{ref.path} ({ref.payload_oxum} octets.files, manifest sha256 {ref.manifest_sha256})")
    return EXIT_OK


async def _sync_schedules(dsn: str, temporal_address: str | None, *,
                          client: Client | None = None) -> int:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        found = await policies(pool)
    finally:
        await pool.close()
    if client is None:
        client = await asyncio.wait_for(connect(temporal_address), timeout=5)
    for municipality_id, (policy, timezone) in found.items():
        outcome = await sync_snapshot_schedule(client, municipality_id, policy, timezone,
                                               task_queue=settings.load().task_queue)
        print(f"snapshots:{municipality_id}: {outcome}")
    return EXIT_OK


async def _setup(dsn: str, temporal_address: str | None) -> int:
    """Make a namespace ready for Kanalvakt, idempotently: the search
    attributes the workflows set, and each municipality's snapshot schedule."""
    where = describe(connect_config(temporal_address))
    try:
        client = await asyncio.wait_for(connect(temporal_address), timeout=10)
    except (OSError, RuntimeError, TimeoutError) as exc:
        _say_error(f"kanalvakt setup: cannot reach Temporal at {where}: "
                   f"{exc or type(exc).__name__}")
        return EXIT_FAILED
    print(f"Temporal: {where}")
    try:
        added = await prepare_namespace(client)
    except NamespaceNotReady as exc:
        _say_error(f"kanalvakt setup: {exc}")
        return EXIT_FAILED
    print("search attributes: " + (f"registered {', '.join(added)}" if added
                                   else "all in place"))
    return await _sync_schedules(dsn, temporal_address, client=client)


async def _directory_show(dsn: str, municipality_id: str) -> int:
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        directory = await DirectoryRepository(pool).directory(municipality_id)
    finally:
        await pool.close()
    if directory is None:
        _say_error(f"no municipality {municipality_id!r} in the directory")
        return EXIT_FAILED
    names = {p.id: p.name for p in directory.people}

    def who(person_id: str | None) -> str:
        if person_id is None:
            return "-"
        return f"{names.get(person_id, '?')} ({person_id})"

    m = directory.municipality
    print(f"{m.name} ({m.id}), {m.country.value}, {m.timezone}, diarium {m.diarium_prefix}")
    print("Units:")
    for unit in directory.units:
        print(f"  {unit.id}: {unit.name} [{unit.kind.value}]")
        print(f"      manager: {who(unit.manager)}")
        print(f"      deputy:  {who(unit.deputy)}")
    print(f"Communications unit: {directory.communications_unit}")
    print("Communications members: " + ", ".join(who(p) for p in directory.communications_members))
    print("Registrars: " + ", ".join(who(p) for p in directory.registrars))
    return EXIT_OK


async def _rebuild(dsn: str) -> int:
    started = time.perf_counter()
    try:
        count = await rebuild_read_models(dsn, progress=sys.stderr)
    except rebuild.RebuildRunning as exc:
        _say_error(f"kanalvakt: {exc}; try again when it has ended")
        return EXIT_FAILED
    print(f"replayed {count} events into the read models in {time.perf_counter() - started:.2f} s")
    return EXIT_OK


def _row_keys(rows: list[str], every: bool) -> list[RowKey] | None:
    """The rows named on the command line (None: --all); ValueError says
    what is wrong."""
    if every == bool(rows):
        raise ValueError("name rows as PLATFORM:EXTERNAL_ID, or pass --all")
    if every:
        return None
    keys = []
    for row in rows:
        platform, sep, external_id = row.partition(":")
        if not sep or not platform or not external_id:
            raise ValueError(f"{row!r} is not PLATFORM:EXTERNAL_ID")
        keys.append(RowKey(platform, external_id))
    return keys


async def _with_intake(dsn: str) -> tuple[asyncpg.Pool, IntakeRepository]:
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    return pool, IntakeRepository(pool)


async def _keys_rewrap(dsn: str) -> int:
    """After a KEK rotation (a municipality's new key first in
    KANALVAKT_PAYLOAD_KEYS): every live data key wrapped under its
    municipality's first KEK, so the old KEK can go (codec.py)."""
    try:
        keys = parse_keys(settings.load().payload_keys)
        ring = KeyRing(keys)
    except PayloadKeyError as bad:
        _say_error(f"kanalvakt keys rewrap: {bad}")
        return EXIT_BAD_INPUT
    table = PayloadKeyTable(dsn=dsn)
    try:
        done = await DataKeys(ring, table).rewrap()
    except PayloadDecryptionError as bad:
        _say_error(f"kanalvakt keys rewrap: {bad}")
        return EXIT_FAILED
    finally:
        await table.close()
    print(f"rewrapped {done} data key(s)")
    return EXIT_OK


async def _intake_status(dsn: str) -> int:
    pool, intake = await _with_intake(dsn)
    try:
        status = await intake.status()
    finally:
        await pool.close()
    oldest = status.oldest_pending.isoformat() if status.oldest_pending else "-"
    print(f"pending: {status.pending} (waiting to retry: {status.waiting_to_retry})")
    print(f"parked: {status.parked}")
    print(f"oldest pending received at: {oldest}")
    return EXIT_OK


async def _intake_parked(dsn: str, limit: int) -> int:
    pool, intake = await _with_intake(dsn)
    try:
        rows = await intake.parked(limit)
    finally:
        await pool.close()
    if not rows:
        print("no parked messages")
        return EXIT_OK
    for r in rows:
        print(f"{r.platform}:{r.external_id}\taccount {r.account_ref}\t"
              f"received {r.received_at.isoformat()}\tparked {r.parked_at.isoformat()}\t"
              f"attempts {r.attempts}\t{r.last_error or ''}")
    print(f"{len(rows)} parked" + (f" (the first {limit})" if len(rows) == limit else ""))
    return EXIT_OK


async def _intake_retry(dsn: str, keys: list[RowKey] | None) -> int:
    pool, intake = await _with_intake(dsn)
    try:
        count = await intake.retry(keys)
    finally:
        await pool.close()
    print(f"{count} parked message(s) sent back to the feeder")
    if keys is not None and count < len(keys):
        _say_error(f"kanalvakt intake retry: {len(keys) - count} of the rows named are not "
                   "parked (unknown, already started, or waiting for their retry)")
        return EXIT_FAILED
    return EXIT_OK


async def _outbox_list(dsn: str, status: str | None, limit: int) -> int:
    pool = await _pool(dsn)
    try:
        outbox = OutboxRepository(pool)
        counts = await outbox.counts()
        rows = await outbox.listing(status, limit)
    finally:
        await pool.close()
    print("outbox: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("pending", "failed",
                                                                     "sent")))
    for r in rows:
        print(f"{r.id}\t{r.status}\t{r.channel}\t{r.recipient}\t{r.kind}\t"
              f"{r.account_name or '-'}\tcreated {r.created_at.isoformat()}\t"
              f"attempts {r.attempts}\t{r.last_error or ''}")
    return EXIT_OK


async def _outbox_retry(dsn: str, ids: list[int] | None) -> int:
    pool = await _pool(dsn)
    try:
        outbox = OutboxRepository(pool)
        if ids is None:
            ids = [r.id for r in await outbox.failed(limit=100_000)]
        count = await outbox.retry(ids, datetime.now(UTC))
    finally:
        await pool.close()
    print(f"{count} failed notification(s) sent back to the outbox sender")
    if count < len(ids):
        _say_error(f"kanalvakt outbox retry: {len(ids) - count} of the rows named are not "
                   "failed (unknown, sent, or still being tried)")
        return EXIT_FAILED
    return EXIT_OK


async def _outbox_chat(dsn: str, args: argparse.Namespace) -> int:
    pool = await _pool(dsn)
    try:
        if args.chat_command == "set":
            await set_chat_webhook(pool, args.municipality, args.unit or "", args.url,
                                   args.format, datetime.now(UTC))
            print(f"chat webhook set for {args.municipality}"
                  + (f"/{args.unit}" if args.unit else ""))
            return EXIT_OK
        if not await remove_chat_webhook(pool, args.municipality, args.unit or ""):
            _say_error("kanalvakt outbox chat remove: no such webhook")
            return EXIT_FAILED
        print("chat webhook removed")
        return EXIT_OK
    finally:
        await pool.close()


async def _pool(dsn: str) -> asyncpg.Pool:
    await migrate(dsn)
    return await create_pool(dsn, min_size=1, max_size=2)


def _outbox_ids(rows: list[str], everything: bool) -> list[int] | None:
    if everything == bool(rows):
        raise ValueError("name outbox ids, or --all (not both)")
    if everything:
        return None
    try:
        return [int(r) for r in rows]
    except ValueError:
        raise ValueError("an outbox id is a whole number") from None


def _run_worker(args: argparse.Namespace) -> int:
    """The processes of an installed Kanalvakt start from this one command;
    the worker reads its settings from the environment (README)."""
    argv = ["--no-feeder"] if args.no_feeder else ["--feeder-only"] if args.feeder_only else []
    if args.no_outbox:
        argv.append("--no-outbox")
    asyncio.run(worker.main(argv))
    return EXIT_OK


def _run_web(args: argparse.Namespace) -> int:
    cfg = settings.load()
    # SIGTERM: uvicorn stops accepting and lets open requests finish within
    # KANALVAKT_WEB_SHUTDOWN_SECONDS.
    uvicorn.run("web.app:app", host=args.host or cfg.web_host, port=args.port or cfg.web_port,
                timeout_graceful_shutdown=max(1, round(cfg.web_shutdown_seconds)))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kanalvakt", description="Kanalvakt administration commands."
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (default: the DATABASE_URL environment variable)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    worker = commands.add_parser(
        "worker", help="run the Temporal worker and the intake feeder (as `python -m worker`)")
    roles = worker.add_mutually_exclusive_group()
    roles.add_argument("--no-feeder", action="store_true", help="run no intake feeder")
    roles.add_argument("--feeder-only", action="store_true",
                       help="run only the intake feeder, no Temporal worker")
    worker.add_argument("--no-outbox", action="store_true", help="run no outbox sender")
    web = commands.add_parser("web", help="serve the intranet, the API and the webhooks")
    web.add_argument("--host", help="address to listen on (default: KANALVAKT_WEB_HOST)")
    web.add_argument("--port", type=int, help="port (default: KANALVAKT_WEB_PORT)")
    commands.add_parser("migrate", help="apply the SQL migrations not yet applied")
    directory = commands.add_parser("directory", help="the organisation directory")
    directory_commands = directory.add_subparsers(dest="directory_command", required=True)
    load = directory_commands.add_parser("load", help="load a municipality's directory YAML")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--temporal-address",
        default=None,
        help="tell running cases on this Temporal server to reload (default: Temporal's "
        "environment configuration, e.g. TEMPORAL_ADDRESS, else localhost:7233; '' skips)",
    )
    show = directory_commands.add_parser("show", help="print a municipality's directory")
    show.add_argument("municipality")
    commands.add_parser(
        "rebuild-read-models",
        help="replay every event into read models built beside the live ones and swap them "
        "in; appends go on meanwhile, held back only for the swap",
    )
    records = commands.add_parser("records", help="records for the registrar")
    records_commands = records.add_subparsers(dest="records_command", required=True)
    export = records_commands.add_parser(
        "export", help="diarium entries, messages, decisions and disposal log of a period "
        "as a BagIt package with METS")
    export.add_argument("municipality")
    export.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    export.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    export.add_argument("--account", help="one account's id (default: every account)")
    export.add_argument("--out", type=Path, help="archive folder (default: KANALVAKT_ARCHIVE_DIR)")
    snapshots = commands.add_parser("snapshots", help="semiannual snapshots (R-37)")
    snapshot_commands = snapshots.add_subparsers(dest="snapshots_command", required=True)
    schedules = snapshot_commands.add_parser(
        "schedules", help="create or update each municipality's snapshot schedule")
    schedules.add_argument("--temporal-address", default=None,
                           help="default: Temporal's environment configuration")
    setup = commands.add_parser(
        "setup", help="make a Temporal namespace ready: search attributes and snapshot "
        "schedules (idempotent; TEMPORAL_* variables or a profile say which cluster)")
    setup.add_argument("--temporal-address", default=None,
                       help="default: Temporal's environment configuration")
    intake = commands.add_parser(
        "intake", help="inbound messages on their way to cases: status, parked rows, retry")
    intake_commands = intake.add_subparsers(dest="intake_command", required=True)
    intake_commands.add_parser("status", help="pending, waiting to retry, parked; the oldest")
    parked = intake_commands.add_parser(
        "parked", help="list parked messages (key, account, attempts, reason; never the text)")
    parked.add_argument("--limit", type=int, default=100)
    retry = intake_commands.add_parser(
        "retry", help="send parked messages back to the feeder, with fresh attempts")
    retry.add_argument("rows", nargs="*", metavar="PLATFORM:EXTERNAL_ID")
    retry.add_argument("--all", action="store_true", help="every parked message")
    outbox = commands.add_parser(
        "outbox", help="notifications on their way by mail and chat: list, retry, run, chat")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_commands.add_parser("list", help="outbox rows, newest first")
    listing.add_argument("--status", choices=("pending", "failed", "sent"), default=None)
    listing.add_argument("--limit", type=int, default=100)
    again = outbox_commands.add_parser(
        "retry", help="send failed notifications again, with fresh attempts")
    again.add_argument("rows", nargs="*", metavar="ID")
    again.add_argument("--all", action="store_true", help="every failed notification")
    outbox_commands.add_parser("run", help="run the outbox sender alone (PostgreSQL and SMTP)")
    chat_hooks = outbox_commands.add_parser("chat", help="chat webhooks per municipality or unit")
    chat_commands = chat_hooks.add_subparsers(dest="chat_command", required=True)
    chat_set = chat_commands.add_parser("set", help="set an incoming-webhook URL")
    chat_set.add_argument("municipality")
    chat_set.add_argument("url")
    chat_set.add_argument("--unit", help="one unit (default: the whole municipality)")
    chat_set.add_argument("--format", choices=("teams", "generic"), default="teams")
    chat_remove = chat_commands.add_parser("remove", help="remove a webhook")
    chat_remove.add_argument("municipality")
    chat_remove.add_argument("--unit")
    keys = commands.add_parser("keys", help="payload data keys (codec.py)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "rewrap", help="wrap every live data key under its municipality's first key "
        "(KANALVAKT_PAYLOAD_KEYS), after a rotation")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if args.command == "worker":
        return _run_worker(args)
    if args.command == "web":
        return _run_web(args)
    dsn = args.database_url or settings.load().database_url
    if not dsn:
        _say_error("kanalvakt: no database: pass --database-url or set DATABASE_URL")
        return EXIT_BAD_INPUT
    if args.command == "migrate":
        work = _migrate(dsn)
    elif args.command == "directory" and args.directory_command == "load":
        directory = _read_directory_file(args.file)
        if directory is None:
            return EXIT_BAD_INPUT
        work = _directory_load(dsn, directory, args.temporal_address)
    elif args.command == "directory":
        work = _directory_show(dsn, args.municipality)
    elif args.command == "records":
        work = _records_export(dsn, args.municipality, args.start, args.end, args.account,
                               args.out)
    elif args.command == "snapshots":
        work = _sync_schedules(dsn, args.temporal_address)
    elif args.command == "setup":
        work = _setup(dsn, args.temporal_address)
    elif args.command == "keys":
        work = _keys_rewrap(dsn)
    elif args.command == "outbox":
        if args.outbox_command == "run":
            asyncio.run(outbox_sender.main(dsn))
            return EXIT_OK
        if args.outbox_command == "retry":
            try:
                ids = _outbox_ids(args.rows, args.all)
            except ValueError as bad:
                _say_error(f"kanalvakt outbox retry: {bad}")
                return EXIT_BAD_INPUT
            work = _outbox_retry(dsn, ids)
        elif args.outbox_command == "chat":
            work = _outbox_chat(dsn, args)
        else:
            work = _outbox_list(dsn, args.status, args.limit)
    elif args.command == "intake":
        if args.intake_command == "retry":
            try:
                keys = _row_keys(args.rows, args.all)
            except ValueError as bad:
                _say_error(f"kanalvakt intake retry: {bad}")
                return EXIT_BAD_INPUT
            work = _intake_retry(dsn, keys)
        elif args.intake_command == "parked":
            work = _intake_parked(dsn, args.limit)
        else:
            work = _intake_status(dsn)
    else:
        work = _rebuild(dsn)
    try:
        return asyncio.run(work)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _say_error(f"kanalvakt: database error: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
