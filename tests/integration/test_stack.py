"""The local stack end to end: `python -m deploy.stack` as a developer runs it.

One test, two runs on the same state folder:

1. start the stack (embedded PostgreSQL, Temporal dev server, worker, web app)
   on free, non-default ports; wait for GET /healthz and for Temporal; check
   our search attributes are registered; leave traces: a marker table in
   PostgreSQL and a workflow (type `Noop`, on a task queue no worker polls,
   so it stays running) with `KvStage="awaiting_manager"`;
   Ctrl-C (SIGINT): exit code 0, nothing left listening or running;
2. start again: the traces are still there (PostgreSQL data, Temporal's
   SQLite file, its visibility records and search attributes), migrations
   and the sample directory are not applied twice; Ctrl-C again.

Slow by nature (two full start/stop cycles, ~11 s on 2 cores); it runs with everything
else because "python3 dev.py stack works" is the promise the README makes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes

import settings
from tests.servers import port_for_another_process
from tests.support import eventually
from workflows import search_attributes as sa

READY_TIMEOUT = 120.0  # the first run includes initdb: 3.5-7 s measured on 2 cores
STOP_TIMEOUT = 60.0  # the stack gives each child 10 s before SIGKILL
NOOP_TASK_QUEUE = "stack-test-no-worker"


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line contains `text` (Linux /proc)."""
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    web: int
    # issue 13: the stack's own SMTP server (never the default 8025 another
    # stack on the machine may hold)
    smtp: int = field(default_factory=lambda: port_for_another_process())


@dataclass
class StackRun:
    """One `python -m deploy.stack` subprocess and its captured output."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    started: float

    def output(self) -> str:
        out = self.stdout_path.read_text(errors="replace")
        err = self.stderr_path.read_text(errors="replace")
        return f"--- stdout ---\n{out}\n--- stderr (last 6000 chars) ---\n{err[-6000:]}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")


def _start_stack(state_dir: Path, ports: Ports, run: int) -> StackRun:
    env = dict(os.environ)
    # Whatever the developer's shell points at, this test wants the embedded
    # PostgreSQL and its own dev server.
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "KANALVAKT_ARCHIVE_DIR",
                 "KANALVAKT_SMTP_HOST"):
        env.pop(name, None)
    env.update(
        KANALVAKT_STATE_DIR=str(state_dir),
        TEMPORAL_PORT=str(ports.temporal),
        TEMPORAL_UI_PORT=str(ports.ui),
        KANALVAKT_WEB_HOST="127.0.0.1",
        KANALVAKT_WEB_PORT=str(ports.web),
        KANALVAKT_SMTP_PORT=str(ports.smtp),
        PYTHONUNBUFFERED="1",
    )
    logs = state_dir.parent
    stdout_path = logs / f"stack-run{run}.out"
    stderr_path = logs / f"stack-run{run}.err"
    # Files, not pipes: nobody reads a pipe while we wait, and a full pipe
    # would block the stack's children mid-log.
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.stack"],
            cwd=settings.ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    return StackRun(process, stdout_path, stderr_path, time.monotonic())


async def _wait_until_ready(run: StackRun, ports: Ports) -> tuple[float, Client]:
    """Seconds from launch until /healthz said ok and the stack printed its
    summary (uvicorn may answer a moment before the stack notices), and a
    connected client."""
    deadline = run.started + READY_TIMEOUT
    healthy = False
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            code = run.process.poll()
            assert code is None, f"the stack exited with {code} while starting\n{run.output()}"
            if not healthy:
                try:
                    response = await http.get(f"http://127.0.0.1:{ports.web}/healthz")
                    healthy = response.status_code == 200 and response.json() == {"status": "ok"}
                except httpx.HTTPError:
                    pass
            if healthy and "local stack is up" in run.stdout():
                break
            assert time.monotonic() < deadline, (
                f"not ready within {READY_TIMEOUT} s (healthz ok: {healthy})\n{run.output()}"
            )
            await asyncio.sleep(0.25)
    ready_after = time.monotonic() - run.started
    client = await Client.connect(f"127.0.0.1:{ports.temporal}")
    return ready_after, client


def _stop(run: StackRun) -> float:
    """Ctrl-C; seconds until the stack exited."""
    began = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    try:
        run.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        run.process.kill()
        pytest.fail(f"the stack did not stop within {STOP_TIMEOUT} s\n{run.output()}")
    return time.monotonic() - began


def _database_url(run: StackRun) -> str:
    match = re.search(r"Database\s+(postgresql://\S+)", run.stdout())
    assert match, f"no database URL in the summary\n{run.output()}"
    return match.group(1)


async def _assert_search_attributes_registered(client: Client) -> None:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    registered = dict(listed.custom_attributes)
    for key in sa.ALL:
        assert registered.get(key.name) == int(key.indexed_value_type), (
            f"{key.name} not registered as {key.indexed_value_type.name}: {registered}"
        )


async def _cli_list_by_stage(ports: Ports, stage: str) -> list[str]:
    """The summary's example query, through the CLI the stack uses."""
    temporal = Path(sys.executable).parent / "temporal"
    process = await asyncio.create_subprocess_exec(
        str(temporal),
        "workflow",
        "list",
        "--address",
        f"127.0.0.1:{ports.temporal}",
        "--query",
        f'KvStage="{stage}"',
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode().strip()
    if not text:
        return []
    # One JSON object per line, or one array, depending on the CLI version.
    items = (
        json.loads(text)
        if text.startswith("[")
        else [json.loads(line) for line in text.splitlines()]
    )
    return [item["execution"]["workflowId"] for item in items]


def _assert_all_gone(run: StackRun, ports: Ports, state_dir: Path) -> None:
    for name, port in (
        ("Temporal gRPC", ports.temporal),
        ("Temporal UI", ports.ui),
        ("web", ports.web),
        ("SMTP", ports.smtp),
    ):
        assert not _listening(port), f"{name} port {port} still listening\n{run.output()}"
    # PostgreSQL listens on a socket in the state folder only; every process
    # the stack started names the state folder (or its ports) on its command line.
    leftovers = _processes_mentioning(str(state_dir)) + _processes_mentioning(f"--port {ports.web}")
    assert not leftovers, f"processes left behind: {leftovers}\n{run.output()}"
    assert not (state_dir / "pg" / "postmaster.pid").exists(), "PostgreSQL did not shut down"


@pytest.fixture
def stack_runs() -> Iterator[list[StackRun]]:
    """Whatever happens in the test, no stack outlives it."""
    runs: list[StackRun] = []
    yield runs
    for run in runs:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            try:
                run.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()


@pytest.mark.timeout(300)
async def test_stack_starts_stops_cleanly_and_keeps_its_data(
    tmp_path: Path, stack_runs: list[StackRun]
) -> None:
    state_dir = tmp_path / "state"
    # Chosen up front, all different, and below the ephemeral range: the
    # stack's dev server binds its own HTTP, metrics and internal ports with
    # bind(:0), which with bind-and-close ports could hand it the web app's
    # (bound only later) or the UI's, in either run (tests/servers.py).
    temporal = port_for_another_process()
    ui = port_for_another_process({temporal})
    ports = Ports(temporal, ui, port_for_another_process({temporal, ui}))
    assert len({ports.temporal, ports.ui, ports.web}) == 3
    workflow_id = f"stack-test-{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}

    # ---- first run: a fresh state folder
    first = _start_stack(state_dir, ports, run=1)
    stack_runs.append(first)
    timings["first start"], client = await _wait_until_ready(first, ports)
    assert _listening(ports.ui), "the Temporal UI is not listening"
    # issue 14: the UI behind deploy/ui_proxy.py, its codec on its own origin
    import httpx

    async with httpx.AsyncClient(timeout=30) as http:
        codec = (await http.get(f"http://127.0.0.1:{ports.ui}/api/v1/settings")).json()["Codec"]
    assert codec == {**codec, "Endpoint": f"http://127.0.0.1:{ports.ui}/kanalvakt-codec",
                     "IncludeCredentials": True}, codec
    # issue 13: the stack's SMTP server keeps mails as .eml files in the state folder
    assert _listening(ports.smtp), f"the SMTP server is not listening\n{first.output()}"
    assert (state_dir / "mail").is_dir()
    await _assert_search_attributes_registered(client)
    assert "migrations applied:" in first.stdout(), first.output()

    dsn = _database_url(first)
    conn = await asyncpg.connect(dsn)
    try:
        migrations_before = await conn.fetch(
            "SELECT name, applied_at FROM schema_migrations ORDER BY name"
        )
        municipalities_before = await conn.fetchval("SELECT count(*) FROM municipalities")
        await conn.execute("CREATE TABLE stack_test_marker (token text PRIMARY KEY)")
        await conn.execute("INSERT INTO stack_test_marker VALUES ($1)", workflow_id)
    finally:
        await conn.close()
    assert migrations_before, "no migrations recorded"

    await client.start_workflow(
        "Noop",
        id=workflow_id,
        task_queue=NOOP_TASK_QUEUE,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(sa.STAGE, "awaiting_manager")]
        ),
    )
    listed = await eventually(lambda: _cli_list_by_stage(ports, "awaiting_manager"))
    assert workflow_id in listed

    timings["first stop"] = _stop(first)
    assert first.process.returncode == 0, first.output()
    assert "all stopped" in first.stdout(), first.output()
    _assert_all_gone(first, ports, state_dir)

    # ---- second run: same state folder, everything still there
    second = _start_stack(state_dir, ports, run=2)
    stack_runs.append(second)
    timings["second start"], client = await _wait_until_ready(second, ports)
    await _assert_search_attributes_registered(client)
    out = second.stdout()
    assert "database schema up to date" in out, second.output()
    assert "loading the sample" not in out, second.output()

    conn = await asyncpg.connect(_database_url(second))
    try:
        assert await conn.fetchval("SELECT token FROM stack_test_marker") == workflow_id
        assert (
            await conn.fetch("SELECT name, applied_at FROM schema_migrations ORDER BY name")
            == migrations_before
        )
        assert await conn.fetchval("SELECT count(*) FROM municipalities") == municipalities_before
    finally:
        await conn.close()

    description = await client.get_workflow_handle(workflow_id).describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert workflow_id in await eventually(lambda: _cli_list_by_stage(ports, "awaiting_manager"))

    timings["second stop"] = _stop(second)
    assert second.process.returncode == 0, second.output()
    _assert_all_gone(second, ports, state_dir)

    print("stack timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


# --------------------------------------------------------------------------
# Supervision (issue 9, item 8): a killed child is restarted, work goes on.


def _stack_child(run: StackRun, marker: str) -> int | None:
    """The pid of the stack's child whose command line contains `marker`."""
    import psutil

    try:
        for proc in psutil.Process(run.process.pid).children(recursive=True):
            try:
                if marker in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                    return int(proc.pid)
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return None


async def _kill_and_wait_for_restart(run: StackRun, name: str, marker: str) -> int:
    """kill -9 the child, wait for a new process and the stack's word that
    it restarted it; returns the new pid."""
    old = _stack_child(run, marker)
    assert old is not None, f"no {name} under the stack\n{run.output()}"
    restarts_before = run.stdout().count(f"restarted the {name} ")
    os.kill(old, signal.SIGKILL)

    async def new_pid() -> int | None:
        pid = _stack_child(run, marker)
        said = run.stdout().count(f"restarted the {name} ") > restarts_before
        return pid if pid not in (None, old) and said else None

    pid = await eventually(new_pid, seconds=30)
    assert pid is not None, f"the {name} was not restarted\n{run.output()}"
    assert run.process.poll() is None, f"the stack stopped\n{run.output()}"
    assert re.search(rf"the {re.escape(name)} exited with code -9 after [\d.]+ s; restarting it",
                     run.stdout()), run.output()
    return pid


async def _account_recorded_by_the_worker(ports: Ports) -> None:
    """An account request goes through the web app and Temporal, and the
    worker's activity writes it to PostgreSQL: all three parts work."""
    from tests.support import REQUESTER, request_fields

    headers = {"X-Kanalvakt-Actor": REQUESTER}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.web}", timeout=30) as http:
        async def post() -> httpx.Response | None:
            try:
                return await http.post("/api/accounts", headers=headers, json={
                    **request_fields(account_name=f"Efter omstart {uuid.uuid4().hex[:6]}"),
                    "municipality_id": "exempelby"})
            except httpx.HTTPError:
                return None  # the web app or Temporal still coming back

        r = await eventually(post, lambda r: r is not None and r.status_code in (201, 202),
                             seconds=60)
        assert r is not None and r.status_code in (201, 202), r and r.text
        account_id = r.json()["account_id"]

        async def recorded() -> int:
            try:
                return (await http.get(f"/api/accounts/{account_id}", headers=headers)).status_code
            except httpx.HTTPError:
                return 0

        assert await eventually(recorded, lambda code: code == 200, seconds=60) == 200


@pytest.mark.timeout(300)
async def test_stack_restarts_a_killed_worker_web_app_and_temporal(
    tmp_path: Path, stack_runs: list[StackRun]
) -> None:
    """kill -9 of the worker, the web app, the Temporal dev server and the
    PostgreSQL postmaster under `python -m deploy.stack`: each is restarted,
    the stack keeps running, an account request is recorded end to end after
    every kill, and Ctrl-C still stops everything cleanly."""
    state_dir = tmp_path / "state"
    temporal = port_for_another_process()
    ui = port_for_another_process({temporal})
    ports = Ports(temporal, ui, port_for_another_process({temporal, ui}))
    run = _start_stack(state_dir, ports, run=1)
    stack_runs.append(run)
    await _wait_until_ready(run, ports)

    await _kill_and_wait_for_restart(run, "worker", "-m worker")
    await _account_recorded_by_the_worker(ports)

    await _kill_and_wait_for_restart(run, "web app", "uvicorn")
    await _account_recorded_by_the_worker(ports)

    await _kill_and_wait_for_restart(run, "Temporal dev server", "start-dev")
    await _account_recorded_by_the_worker(ports)

    # The embedded PostgreSQL is not the stack's child (pg_ctl daemonises
    # it): its postmaster killed, the stack starts it again on the same data.
    pid_file = state_dir / "pg" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split("\n", 1)[0])
    os.kill(postmaster, signal.SIGKILL)

    async def running_again() -> bool:
        return "PostgreSQL: running again" in run.stdout()

    assert await eventually(running_again, seconds=60), run.output()
    assert "PostgreSQL: starting it again" in run.stdout(), run.output()
    assert int(pid_file.read_text().split("\n", 1)[0]) != postmaster
    await _account_recorded_by_the_worker(ports)

    # Restarted by someone else (as bench/faults.py does): the stack stops
    # the new server at the end all the same (_assert_all_gone below).
    from pgserver._commands import pg_ctl

    pg_user = "pgserver" if os.geteuid() == 0 else None
    await asyncio.to_thread(pg_ctl, ["-w", "-m", "immediate", "-l",
                                     str(state_dir / "pg" / "log"), "restart"],
                            pgdata=state_dir / "pg", user=pg_user, timeout=60)
    await _account_recorded_by_the_worker(ports)

    _stop(run)
    assert run.process.returncode == 0, run.output()
    _assert_all_gone(run, ports, state_dir)
