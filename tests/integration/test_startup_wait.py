"""The worker and the web app wait for PostgreSQL and Temporal at start
(issue 9, item 8; deploy/waiting.py).

`python -m worker` and `uvicorn web.app:app` are started while neither an
embedded PostgreSQL nor a Temporal dev server is up; the database comes up
a few seconds later, then Temporal: both processes log one line per attempt
("waiting for PostgreSQL at ... (attempt n/N)", then the same for Temporal)
and then run (the worker logs "worker started", the web app answers
/healthz). A process whose bound runs out stops with a clear error.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

import settings
from deploy.waiting import DependencyUnavailable, wait_for
from store.db import migrate
from tests.servers import port_for_another_process
from tests.support import DEV_SERVER, eventually


def _pg_server(pgdata: Path):  # type: ignore[no-untyped-def]
    import pgserver

    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=settings.ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)


def _events(log: Path) -> list[str]:
    """The `event` of every JSON log line."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            found.append(str(json.loads(line).get("event", "")))
        except ValueError:
            continue
    return found


def _waiting_lines(log: Path, what: str) -> list[str]:
    return [e for e in _events(log) if e.startswith(f"waiting for {what} at ")]


@pytest.mark.timeout(150)
async def test_worker_and_web_wait_for_postgres_and_temporal_that_come_up_late(
    tmp_path: Path,
) -> None:
    # A data directory of our own (short path: its Unix socket lives there),
    # migrated, then stopped: the processes start against a database that is down.
    pgdata = Path(tempfile.mkdtemp(prefix="kv-late-pg-"))
    server = await asyncio.to_thread(_pg_server, pgdata)
    dsn = str(server.get_uri())
    await migrate(dsn)
    await asyncio.to_thread(server.cleanup)
    temporal_port = port_for_another_process()
    web_port = port_for_another_process({temporal_port})

    env = dict(os.environ)
    env.update(
        DATABASE_URL=dsn,
        TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        TEMPORAL_NAMESPACE="default",
        KANALVAKT_ARCHIVE_DIR=str(tmp_path / "archive"),
        KANALVAKT_STATE_DIR=str(tmp_path / "state"),
        KANALVAKT_STARTUP_ATTEMPTS="60",
        KANALVAKT_STARTUP_MAX_DELAY="1",
        KANALVAKT_SESSION_SECRET=secrets.token_urlsafe(48),
        KANALVAKT_COOKIE_SECURE="0",
        PYTHONUNBUFFERED="1",
    )
    for name in ("KANALVAKT_ENV", "KANALVAKT_PAYLOAD_KEYS"):
        env.pop(name, None)
    worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
    worker = _spawn([sys.executable, "-m", "worker"], env, worker_log)
    web = _spawn([sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1",
                  "--port", str(web_port)], env, web_log)
    temporal: WorkflowEnvironment | None = None
    server = None
    try:
        # Both keep trying (and say so) while PostgreSQL is down.
        for log in (worker_log, web_log):
            lines = await eventually(lambda log=log: asyncio.sleep(0, _waiting_lines(
                log, "PostgreSQL")), lambda lines: len(lines) >= 2, seconds=60)
            assert len(lines) >= 2, log.read_text()
            assert "(attempt 2/60)" in lines[1], lines
        assert worker.poll() is None and web.poll() is None

        server = await asyncio.to_thread(_pg_server, pgdata)
        assert str(server.get_uri()) == dsn
        # Then they wait for Temporal, which is not up either.
        for log in (worker_log, web_log):
            lines = await eventually(lambda log=log: asyncio.sleep(0, _waiting_lines(
                log, "Temporal")), lambda lines: len(lines) >= 1, seconds=60)
            assert lines and f"127.0.0.1:{temporal_port}" in lines[0], log.read_text()
            assert any(e.startswith("PostgreSQL at ") and "answered" in e
                       for e in _events(log)), log.read_text()

        temporal = await WorkflowEnvironment.start_local(
            dev_server_existing_path=DEV_SERVER, port=temporal_port, ui=False,
            dev_server_log_level="error")
        started = await eventually(lambda: asyncio.sleep(0, "worker started" in _events(
            worker_log)), seconds=60)
        assert started, worker_log.read_text()

        async def healthz() -> int:
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.get(f"http://127.0.0.1:{web_port}/healthz")).status_code
            except httpx.HTTPError:
                return 0

        assert await eventually(healthz, lambda c: c == 200, seconds=60) == 200, web_log.read_text()
        assert worker.poll() is None, worker_log.read_text()
    finally:
        for process in (web, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if temporal is not None:
            await temporal.shutdown()
        if server is not None:
            await asyncio.to_thread(server.cleanup)
        shutil.rmtree(pgdata, ignore_errors=True)


async def test_waiting_is_bounded_logged_and_lets_real_errors_through() -> None:
    """The bound: n attempts, n-1 pauses doubling up to the cap, then
    DependencyUnavailable naming where and why; an error that waiting cannot
    mend is raised at the first attempt."""
    pauses: list[float] = []
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError(111, "Connection refused")

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    with pytest.raises(DependencyUnavailable, match=r"PostgreSQL at db:5432 did not answer "
                       r"after 6 attempts \(last: ConnectionRefusedError"):
        await wait_for("PostgreSQL", "db:5432", refused, lambda e: isinstance(e, OSError),
                       attempts=6, max_delay=3.0, sleep=sleep)
    assert calls == 6
    assert pauses == [0.5, 1.0, 2.0, 3.0, 3.0]

    calls, pauses = 0, []

    async def wrong_password() -> None:
        nonlocal calls
        calls += 1
        raise PermissionError("password authentication failed")

    with pytest.raises(PermissionError):
        await wait_for("PostgreSQL", "db:5432", wrong_password,
                       lambda e: isinstance(e, ConnectionRefusedError),
                       attempts=6, max_delay=3.0, sleep=sleep)
    assert (calls, pauses) == (1, [])

    answers = iter([ConnectionRefusedError(111, "refused"), None])

    async def late() -> str:
        answer = next(answers)
        if answer is not None:
            raise answer
        return "pool"

    assert await wait_for("PostgreSQL", "db:5432", late, lambda e: isinstance(e, OSError),
                          attempts=3, max_delay=3.0, sleep=sleep) == "pool"
