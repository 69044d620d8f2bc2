"""The stack's restart policy, in-process and fast (issue 9, item 8):
deploy.stack.run_stack against a real PostgreSQL (the test database) and a
Temporal dev server, with the worker replaced by small scripts that crash
the way a real worker would (test_stack.py kills the real ones)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from deploy.stack import Stack, StackConfig, run_stack
from tests.servers import port_for_another_process
from tests.support import DEV_SERVER, eventually


async def _no_migrations(dsn: str) -> list[str]:
    return []


def _config(tmp_path: Path, database_url: str, temporal: str, worker: str) -> StackConfig:
    web_port = port_for_another_process()
    return StackConfig(
        state_dir=tmp_path / "state", archive_dir=tmp_path / "archive",
        temporal_address=temporal, database_url=database_url, web_port=web_port,
        worker_command=[sys.executable, "-c", worker],
        web_command=[sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                     str(web_port)],
        migrate=_no_migrations, directory_files=(),
        restart_first_delay=0.1, restart_max_delay=0.4, restart_stable_after=30,
        restart_give_up_after=4, stop_timeout=5)


@pytest.fixture
async def temporal_address() -> object:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=DEV_SERVER, ui=False,
                                                dev_server_log_level="error")
    try:
        yield env.client.service_client.config.target_host
    finally:
        await env.shutdown()


@pytest.mark.timeout(90)
async def test_a_crashed_worker_is_restarted_with_doubling_pauses_and_the_stack_runs_on(
    tmp_path: Path, database_url: str, temporal_address: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Crashes a second after its first two starts (a file counts them), then
    # runs. (One that dies while the stack is still starting stops the start:
    # that is a start-up problem to fix, said at once.)
    counter = tmp_path / "starts"
    worker = (f"import pathlib, sys, time; p = pathlib.Path({str(counter)!r}); "
              "n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n)); "
              "time.sleep(1); sys.exit(3) if n <= 2 else time.sleep(600)")
    stop = asyncio.Event()
    running = asyncio.ensure_future(run_stack(stop, _config(tmp_path, database_url,
                                                            temporal_address, worker)))
    seen = ""

    async def restarted_twice() -> bool:
        nonlocal seen
        seen += capsys.readouterr().out
        return "restarted the worker (pid" in seen and "restart 2)" in seen

    assert await eventually(restarted_twice, seconds=45), seen
    await asyncio.sleep(1.0)  # the third start runs on
    assert not running.done(), seen
    stop.set()
    assert await running == 0
    seen += capsys.readouterr().out
    assert "the worker exited with code 3 after" in seen
    assert "restarting it in 0.1 s" in seen and "restarting it in 0.2 s" in seen, seen
    assert counter.read_text() == "3"
    assert "stopped worker" in seen and "stopped web app" in seen, seen


@pytest.mark.timeout(90)
async def test_a_worker_that_keeps_crashing_is_reported_and_the_stack_stops(
    tmp_path: Path, database_url: str, temporal_address: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stop = asyncio.Event()
    code = await asyncio.wait_for(run_stack(stop, _config(
        tmp_path, database_url, temporal_address, "import sys, time; time.sleep(1); sys.exit(7)")),
        timeout=60)
    out = capsys.readouterr().out
    assert code == 1, out
    # Pauses double and are capped: 0.1, 0.2, 0.4, 0.4; the fifth crash in a
    # row is one too many.
    for pause in ("0.1", "0.2", "0.4"):
        assert f"restarting it in {pause} s" in out, out
    assert out.count("restarted the worker") == 4, out
    assert "it keeps crashing (3 in a row, giving up after 4)" in out, out
    assert "the worker keeps crashing: 5 exits in a row" in out, out
    assert "the worker keeps crashing: stopping the rest" in out, out
    assert "stopped web app" in out, out


def test_the_children_cache_bytecode_in_the_state_folder_where_the_environment_forbids_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workflow sandbox imports the workflow modules for every new
    workflow instance; without bytecode it compiles them from source each
    time (issue 15's profile). The children get a cache in the state folder,
    never in the source tree."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    cfg = _config(tmp_path, "postgresql://u@127.0.0.1:1/db", "127.0.0.1:1", "pass")
    env = Stack(cfg)._child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(cfg.state_dir / "pycache")

    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "mine"))
    assert Stack(cfg)._child_env()["PYTHONPYCACHEPREFIX"] == str(tmp_path / "mine")
