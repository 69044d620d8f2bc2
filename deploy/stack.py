"""The whole local stack in the foreground, stopped by Ctrl-C.

    python3 dev.py stack            (or: python -m deploy.stack)

Brings up, in order:

1. the state folder (`settings.STATE_DIR`, `.state/` by default);
2. PostgreSQL: embedded (`pgserver`, data in `.state/pg/`) unless
   `DATABASE_URL` points elsewhere;
3. the Temporal dev server (`temporal server start-dev`, SQLite file
   `.state/temporal.db`, UI on :8233, Kanalvakt's search attributes
   registered) unless `TEMPORAL_ADDRESS` points elsewhere;
4. the SQL migrations, and the sample organisation directory when the
   `municipalities` table is empty;
5. the worker (`python -m worker`) and the web app (`uvicorn web.app:app`),
   whose JSON logs pass straight through to this terminal.

Then it prints where everything is and supervises (issue 9): a worker, web
app or Temporal dev server that exits on its own is reported with the end of
its output and started again after a pause that doubles with every crash in
a row (1 s, 2 s, 4 s ... capped at 30 s; a run of 60 s counts as healthy and
resets it); one that crashes 10 times in a row, each time within 60 s of its
start, is reported as crashing for good and the stack stops (exit 1). An
embedded PostgreSQL whose postmaster is gone for more than a few seconds is
started again on the same data. Meanwhile the worker and the web app wait
for PostgreSQL and Temporal (deploy/waiting.py) rather than exit. Ctrl-C,
SIGTERM or SIGHUP stop everything in reverse order (exit 0).

Environment (see also settings.py): KANALVAKT_STATE_DIR, DATABASE_URL,
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PORT (7233), TEMPORAL_UI_PORT
(8233), KANALVAKT_WEB_HOST (127.0.0.1), KANALVAKT_WEB_PORT (8000),
KANALVAKT_ARCHIVE_DIR, KANALVAKT_UI_CODEC_ENDPOINT (passed to the Temporal UI
as its remote codec endpoint; default the web app's /api/codec),
KANALVAKT_LOG_LEVEL. The web app gets the development sign-in
(KANALVAKT_DEV_SIGNIN=1), plain-http cookies and a session secret kept in
`.state/session-secret`, unless set otherwise; worker and web app encrypt
payloads with the key kept in `.state/payload-keys` (KANALVAKT_PAYLOAD_KEYS).

Everything a test needs to drive it in-process is in `StackConfig` (commands
and start-up hooks can be substituted) and `run_stack(stop, config)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import shutil
import signal
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.service import RPCError

import settings
from cli import load_directory_file
from codec import new_key_spec, parse_keys
from deploy.logging_setup import configure_logging
from deploy.temporal import NamespaceNotReady, prepare_namespace
from store.db import migrate as default_migrate
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

DIRECTORY_SAMPLES: tuple[Path, ...] = (
    settings.ROOT / "deploy" / "directory" / "exempelby.yaml",
    settings.ROOT / "deploy" / "directory" / "fjordvik.yaml",
)

# The names `start-dev --search-attribute` and `operator search-attribute
# create` accept, per SDK type.
CLI_TYPE_NAMES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

Migrate = Callable[[str], Awaitable[list[str]]]
LoadDirectory = Callable[[str, Path], Awaitable[object]]


class StackError(Exception):
    """A start-up problem the operator can act on: printed without a traceback."""


def say(message: str) -> None:
    # The stack's own voice is plain text on stdout; the children's JSON logs
    # go to stderr, so `2>/dev/null` leaves just the stack's story.
    print(f"[stack] {message}", flush=True)


# --------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    archive_dir: Path
    # None: start a Temporal dev server on temporal_ip:temporal_port.
    temporal_address: str | None = None
    temporal_ip: str = "127.0.0.1"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # Issue 14: the dev server's own UI listens here (None: a free port at
    # start); deploy/ui_proxy.py serves it on temporal_ui_port with the codec
    # endpoint on the same origin, so the UI decodes without a settings dialog.
    temporal_ui_inner_port: int | None = None
    namespace: str = "default"
    ui_codec_endpoint: str | None = None
    # None: embedded PostgreSQL in state_dir/pg.
    database_url: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    temporal_bin: Path | None = None
    # Issue 13: an SMTP server of the stack's own (deploy/mail_server.py)
    # keeping mails as .eml files in state_dir/mail; off when
    # KANALVAKT_SMTP_HOST names a relay (and in StackConfig's own default).
    start_smtp: bool = False
    smtp_port: int = 8025
    # Substitutable for tests; None means the real thing (see the properties).
    worker_command: Sequence[str] | None = None
    web_command: Sequence[str] | None = None
    migrate: Migrate | None = None
    load_directory: LoadDirectory | None = None
    directory_files: Sequence[Path] = DIRECTORY_SAMPLES
    search_attributes: Sequence[SearchAttributeKey[Any]] = SEARCH_ATTRIBUTES
    temporal_ready_timeout: float = 30.0
    web_ready_timeout: float = 60.0
    stop_timeout: float = 10.0
    # Supervision (Stack.supervise): restart pauses double from the first to
    # the cap; a child that ran `restart_stable_after` seconds was healthy
    # (the pause starts over); after `restart_give_up_after` crashes in a row
    # the stack stops (None: never).
    restart_first_delay: float = 1.0
    restart_max_delay: float = 30.0
    restart_stable_after: float = 60.0
    restart_give_up_after: int | None = 10
    # The embedded PostgreSQL: checked this often; started again when its
    # postmaster has been gone this long (a restart by someone else, such as
    # `pg_ctl restart`, finishes well within it).
    postgres_check_every: float = 1.0
    postgres_down_grace: float = 3.0

    @classmethod
    def from_env(cls) -> StackConfig:
        app = settings.load()
        explicit_temporal = os.environ.get("TEMPORAL_ADDRESS") or None  # set, not defaulted
        return cls(
            state_dir=settings.STATE_DIR,
            archive_dir=app.archive_dir,
            temporal_address=explicit_temporal,
            temporal_port=app.temporal_port,
            temporal_ui_port=app.temporal_ui_port,
            namespace=app.temporal_namespace,
            # The web app's codec endpoint (web/codec_api.py), so signed-in
            # staff read the encrypted payloads in the Temporal UI.
            ui_codec_endpoint=app.ui_codec_endpoint
            or f"http://{_display_host(app.web_host)}:{app.web_port}/api/codec",
            database_url=app.database_url or None,
            web_host=app.web_host,
            web_port=app.web_port,
            start_smtp=not os.environ.get("KANALVAKT_SMTP_HOST"),
            smtp_port=app.smtp_port,
        )

    @property
    def starts_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def effective_temporal_address(self) -> str:
        # 127.0.0.1 rather than localhost: the dev server listens on IPv4 only
        # and "localhost" may resolve to ::1 first.
        return self.temporal_address or f"{self.temporal_ip}:{self.temporal_port}"

    @property
    def effective_worker_command(self) -> list[str]:
        return list(self.worker_command or (sys.executable, "-m", "worker"))

    @property
    def effective_web_command(self) -> list[str]:
        if self.web_command is not None:
            return list(self.web_command)
        return [sys.executable, "-m", "uvicorn", "web.app:app",
                "--host", self.web_host, "--port", str(self.web_port),
                "--timeout-graceful-shutdown",
                str(max(1, round(settings.load().web_shutdown_seconds)))]

    @property
    def web_url(self) -> str:
        return f"http://{_display_host(self.web_host)}:{self.web_port}"

    @property
    def temporal_ui_url(self) -> str | None:
        return f"http://localhost:{self.temporal_ui_port}" if self.starts_temporal else None


def session_secret(state_dir: Path) -> str:
    """The local stack's session-cookie secret: made once, kept (mode 0600)
    in the state folder."""
    import secrets

    path = state_dir / "session-secret"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def payload_keys(state_dir: Path) -> str:
    """The local stack's payload-encryption key (KANALVAKT_PAYLOAD_KEYS
    form, codec.py): made once, kept (mode 0600) in the state folder, so the
    histories of earlier runs still decrypt."""
    path = state_dir / "payload-keys"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_key_spec("local-1"))
    spec = path.read_text(encoding="utf-8").strip()
    parse_keys(spec)  # a damaged file stops the stack here, with its reason
    return spec


def _display_host(host: str) -> str:
    return "localhost" if host in {"127.0.0.1", "0.0.0.0", "::", "::1", ""} else host


def find_temporal_binary() -> Path:
    """The CLI from the `temporal-bin` package sits next to the venv's python;
    fall back to PATH for other installs."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise StackError(
        "the `temporal` CLI was not found next to this Python or on PATH; "
        "install the project (python3 dev.py stack does) or set TEMPORAL_ADDRESS"
    )


def mask_dsn(dsn: str) -> str:
    """The database URL for printing: the password replaced by ***."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable DATABASE_URL>"
    if not parts.password:
        return dsn
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def search_attribute_flags(keys: Sequence[SearchAttributeKey[Any]]) -> list[str]:
    flags: list[str] = []
    for key in keys:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPE_NAMES[key.indexed_value_type]}"]
    return flags


# --------------------------------------------------------------------------
# Ports


def _listener_description(port: int) -> str:
    """Who listens on `port`, as far as we may know (psutil comes with
    pgserver; without it or without permission we just say "another process")."""
    try:
        import psutil
    except ImportError:
        return "another process"
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    return "another process (not ours to inspect)"
                try:
                    cmdline = " ".join(psutil.Process(conn.pid).cmdline()).replace("\n", " ")
                except psutil.Error:
                    cmdline = "?"
                return f"pid {conn.pid}: {cmdline[:160]}"
    except (psutil.Error, OSError):
        pass
    return "another process"


def _free_port(host: str, after: int) -> int:
    """The first free port above `after` (below the ephemeral range, where the
    dev server picks its own ports with bind(:0), so it cannot take this one)."""
    for port in range(after + 1, after + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host if host not in {"", "localhost"} else "127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError(f"no free port above {after} for the Temporal UI behind its proxy")


def ensure_port_free(host: str, port: int, purpose: str, env_var: str) -> None:
    """Fail fast, naming the port and its occupant, instead of letting a
    child die later with a bind error buried in its log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as the servers themselves set it: a port only in
        # TIME_WAIT from our previous run is free for them, and so for us.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host not in {"", "localhost"} else "127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise StackError(
                f"port {port} ({purpose}) is already in use by {_listener_description(port)}. "
                f"Stop it (a stack still running elsewhere?) or choose another port with "
                f"{env_var}=..."
            ) from None


# --------------------------------------------------------------------------
# Child processes


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, children get SIGTERM if the stack dies without cleaning up
    (SIGKILL, a crash): no orphaned worker or dev server keeps the ports.
    They run in their own session (so Ctrl-C reaches only the stack, which
    stops them in order), so nothing else would tell them."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the stack died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path | None = None  # where its output goes, when not the terminal
    # How it was started, so the supervisor can start it again.
    argv: Sequence[str] = ()
    env: dict[str, str] | None = None
    started_at: float = 0.0  # time.monotonic()
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def signal_group(self, sig: signal.Signals) -> None:
        # The child leads its own process group: signal the group so helpers
        # it spawned (uvicorn --reload, say) stop with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


async def spawn(
    name: str, argv: Sequence[str], *, env: dict[str, str], output: IO[bytes] | None = None,
    log_path: Path | None = None,
) -> Child:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=output,  # None: inherit the terminal
        stderr=asyncio.subprocess.STDOUT if output is not None else None,
        env=env,
        cwd=settings.ROOT,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),
    )
    return Child(name, process, log_path, argv=list(argv), env=env, started_at=time.monotonic())


def _where_output_is(child: Child) -> str:
    if child.log_path is None:
        return "its output is above"
    return f"the end of {child.log_path}:\n{_tail(child.log_path)}"


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


# --------------------------------------------------------------------------
# The stack


class Stack:
    """start() brings everything up (raises StackError on a known problem),
    supervise() keeps it running, stop() tears down whatever was started, in
    reverse order; it is safe to call after a failed or cancelled start."""

    def __init__(self, config: StackConfig, hurry: asyncio.Event | None = None) -> None:
        self.config = config
        self.database_url: str | None = config.database_url
        self.children: list[Child] = []  # in start order
        self._temporal: Child | None = None
        self._ui_inner_port: int | None = None
        self._pg_server: Any = None  # pgserver.PostgresServer
        self._pg_start: asyncio.Future[Any] | None = None
        self._pgdata: Path | None = None
        # Set by a second Ctrl-C: stop without waiting for graceful exits.
        self._hurry = hurry or asyncio.Event()
        self.ready_after: float | None = None

    # ---- start

    async def start(self) -> None:
        began = time.monotonic()
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        cfg.archive_dir.mkdir(parents=True, exist_ok=True)
        say(f"state folder {cfg.state_dir}")

        # All port checks before anything starts: a second stack on the same
        # machine fails here without touching the first one's data.
        if cfg.starts_temporal:
            ensure_port_free(cfg.temporal_ip, cfg.temporal_port, "Temporal gRPC", "TEMPORAL_PORT")
            ensure_port_free(cfg.temporal_ip, cfg.temporal_ui_port, "Temporal UI",
                             "TEMPORAL_UI_PORT")
        ensure_port_free(cfg.web_host, cfg.web_port, "web app", "KANALVAKT_WEB_PORT")
        if cfg.start_smtp:
            ensure_port_free("127.0.0.1", cfg.smtp_port, "SMTP server", "KANALVAKT_SMTP_PORT")

        # PostgreSQL (seconds: initdb on the first run) and Temporal (well
        # under a second) start side by side.
        pg = asyncio.ensure_future(self._start_postgres())
        try:
            client = await self._start_temporal()
            await self._ensure_search_attributes(client)
        except BaseException:
            # stop() still finds and stops the server via self._pg_start; this
            # task's own outcome no longer matters.
            pg.add_done_callback(lambda task: task.cancelled() or task.exception())
            pg.cancel()
            raise
        dsn = await pg
        await self._migrate(dsn)
        await self._load_sample_directory(dsn)

        env = self._child_env()
        if cfg.start_smtp:
            mail = [sys.executable, "-m", "deploy.mail_server", "--folder",
                    str(cfg.state_dir / "mail"), "--port", str(cfg.smtp_port)]
            say(f"starting the SMTP server: mails are saved in {cfg.state_dir / 'mail'}")
            self.children.append(await spawn("SMTP server", mail, env=env))
        say("starting the worker: " + " ".join(cfg.effective_worker_command))
        self.children.append(await spawn(
            "worker", cfg.effective_worker_command, env={**env, "KANALVAKT_SERVICE": "worker"}))
        say("starting the web app: " + " ".join(cfg.effective_web_command))
        self.children.append(await spawn(
            "web app", cfg.effective_web_command, env={**env, "KANALVAKT_SERVICE": "web"}))
        await self._wait_for_web()
        if cfg.starts_temporal:
            # Issue 14: the UI and the codec endpoint under one origin.
            proxy = [sys.executable, "-m", "deploy.ui_proxy", "--host", cfg.temporal_ip,
                     "--port", str(cfg.temporal_ui_port),
                     "--ui", f"http://127.0.0.1:{self._ui_port()}", "--web", cfg.web_url]
            say("starting the Temporal UI proxy: " + " ".join(proxy))
            self.children.append(await spawn("Temporal UI proxy", proxy, env=env))
            await self._wait_for_port(cfg.temporal_ip, cfg.temporal_ui_port, "Temporal UI proxy")
        self.ready_after = time.monotonic() - began

    async def _wait_for_port(self, host: str, port: int, name: str,
                             shown_as: str | None = None) -> None:
        """Until something accepts connections on host:port (a child that
        binds its socket when it is ready), or a child exits; a line every
        5 s while it waits."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        next_progress = began + 5.0
        while True:
            for child in self.children:
                if not child.running:
                    raise StackError(
                        f"the {child.name} exited with code {child.process.returncode} "
                        f"while the stack was starting; {_where_output_is(child)}")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                   timeout=2.0)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            except (TimeoutError, OSError):
                pass
            now = loop.time()
            if now - began > self.config.web_ready_timeout:
                raise StackError(f"the {name} did not listen on {host}:{port} "
                                 f"within {self.config.web_ready_timeout:.0f} s")
            if now >= next_progress:
                say(f"{name}: still waiting for {shown_as or f'{host}:{port}'} "
                    f"({now - began:.0f} s)")
                next_progress = now + 5.0
            await asyncio.sleep(0.2)

    def _ui_port(self) -> int:
        """Where the dev server's own UI listens (behind deploy/ui_proxy.py)."""
        if self._ui_inner_port is None:
            self._ui_inner_port = self.config.temporal_ui_inner_port or _free_port(
                self.config.temporal_ip, self.config.temporal_ui_port)
        return self._ui_inner_port

    async def _start_postgres(self) -> str:
        if self.database_url:
            say(f"PostgreSQL: using DATABASE_URL {mask_dsn(self.database_url)}")
            return self.database_url
        pgdata = self.config.state_dir / "pg"
        self._pgdata = pgdata
        fresh = not (pgdata / "PG_VERSION").exists()
        action = "initialising" if fresh else "starting"
        say(f"PostgreSQL: {action} the embedded server in {pgdata}")
        _forget_dead_pg_handles(pgdata)
        # pgserver blocks (pg_ctl -w); in a thread so signals and the
        # Temporal start carry on. Kept as a future so stop() can wait for it
        # and shut the server down even if start-up was interrupted.
        self._pg_start = asyncio.ensure_future(asyncio.to_thread(_pgserver_get, pgdata))
        self._pg_server = await asyncio.shield(self._pg_start)
        self.database_url = str(self._pg_server.get_uri())
        say(f"PostgreSQL: ready (pid {self._pg_server.get_pid()})")
        return self.database_url

    async def _start_temporal(self) -> Client:
        cfg = self.config
        if not cfg.starts_temporal:
            say(f"Temporal: using TEMPORAL_ADDRESS {cfg.effective_temporal_address}")
            return await self._wait_for_temporal(None)
        binary = cfg.temporal_bin or find_temporal_binary()
        db = cfg.state_dir / "temporal.db"
        log_path = cfg.state_dir / "temporal.log"
        if log_path.exists():  # keep one previous run's log, not all of them
            log_path.replace(log_path.with_suffix(".log.1"))
        argv = [
            str(binary), "server", "start-dev",
            "--db-filename", str(db),
            "--ip", cfg.temporal_ip,
            "--port", str(cfg.temporal_port),
            "--ui-port", str(self._ui_port()),
            "--log-level", "warn",
            # WAL: about twice the workflow start rate of the default rollback
            # journal (TEMPORAL-NOTES). synchronous stays at SQLite's default:
            # a local stack's cases should survive a power cut too.
            "--sqlite-pragma", "journal_mode=wal",
            # Registered when the database is created. On an existing database
            # the flags are accepted but NEW names are silently ignored
            # (measured with CLI 1.9.1), hence _ensure_search_attributes.
            *search_attribute_flags(cfg.search_attributes),
        ]
        if cfg.namespace != "default":
            argv += ["--namespace", cfg.namespace]
        if cfg.ui_codec_endpoint:
            argv += ["--ui-codec-endpoint", cfg.ui_codec_endpoint]
        say(f"Temporal: starting dev server ({db.name}, log in {log_path})")
        self._temporal = await self._spawn_logged("Temporal dev server", argv, dict(os.environ),
                                                  log_path)
        self.children.append(self._temporal)
        return await self._wait_for_temporal(self._temporal)

    @staticmethod
    async def _spawn_logged(name: str, argv: Sequence[str], env: dict[str, str],
                            log_path: Path) -> Child:
        with log_path.open("ab") as log_file:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log_file.write(f"--- {stamp} {' '.join(argv)}\n".encode())
            log_file.flush()
            return await spawn(name, argv, env=env, output=log_file, log_path=log_path)

    async def _wait_for_temporal(self, child: Child | None) -> Client:
        cfg = self.config
        address = cfg.effective_temporal_address
        loop = asyncio.get_running_loop()
        began = loop.time()
        next_progress = began + 3.0
        last_error: BaseException | None = None
        while True:
            if child is not None and not child.running:
                raise StackError(
                    f"the Temporal dev server exited with code {child.process.returncode} "
                    f"while starting; the end of {child.log_path}:\n{_tail(child.log_path)}"
                )
            try:
                client = await asyncio.wait_for(
                    Client.connect(address, namespace=cfg.namespace), timeout=5.0)
                say(f"Temporal: ready at {address} after {loop.time() - began:.1f} s")
                return client
            except Exception as exc:  # not up yet (refused, timed out, unavailable)
                last_error = exc
            now = loop.time()
            if now - began > cfg.temporal_ready_timeout:
                raise StackError(
                    f"Temporal at {address} did not accept connections within "
                    f"{cfg.temporal_ready_timeout:.0f} s (last error: {last_error})"
                    + (f"; the end of {child.log_path}:\n{_tail(child.log_path)}" if child else "")
                )
            if now >= next_progress:
                say(f"Temporal: still waiting for {address} ({now - began:.0f} s)")
                next_progress = now + 3.0
            await asyncio.sleep(0.2)

    async def _ensure_search_attributes(self, client: Client) -> None:
        """Register whichever of our search attributes the namespace lacks
        (deploy.temporal.prepare_namespace, as `kanalvakt setup` does).

        Needed on top of the start-dev flags (which only apply to a new
        database) and for an external server."""
        cfg = self.config
        try:
            added = await prepare_namespace(client, cfg.search_attributes)
        except NamespaceNotReady as exc:
            hint = (f" (a local dev server: delete {cfg.state_dir / 'temporal.db'}* to start "
                    "over, losing its workflows)" if cfg.starts_temporal else "")
            raise StackError(f"{exc}{hint}") from None
        except RPCError as exc:  # Temporal Cloud does not offer the operator API
            say(f"Temporal: could not list search attributes ({exc}); skipping registration")
            return
        if added:
            say("Temporal: registered search attributes " + ", ".join(added))
        else:
            say(f"Temporal: search attributes in place ({len(cfg.search_attributes)})")

    async def _migrate(self, dsn: str) -> None:
        migrate = self.config.migrate
        if migrate is None:
            # with the workers' payload keys: a migration seals message
            # contents under them (issue 10, migrations/0018)
            keys = self._child_env()["KANALVAKT_PAYLOAD_KEYS"]

            async def with_keys(dsn: str) -> list[str]:
                return await default_migrate(dsn, payload_keys=keys)

            migrate = with_keys
        applied = await migrate(dsn)
        if applied:
            say("migrations applied: " + ", ".join(applied))
        else:
            say("migrations: database schema up to date")

    async def _load_sample_directory(self, dsn: str) -> None:
        """An empty organisation directory makes every form useless, so a
        fresh stack gets the shipped sample municipalities. A directory that
        has anything in it is never touched."""
        import asyncpg

        conn = await asyncpg.connect(dsn)
        try:
            has_rows = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM municipalities)")
        finally:
            await conn.close()
        if has_rows:
            return
        load = self.config.load_directory
        if load is None:
            load = load_directory_file
        say("organisation directory is empty: loading the sample municipalities")
        for path in self.config.directory_files:
            if not path.exists():
                say(f"  sample {path} is missing; skipped")
                continue
            report = await load(dsn, path)
            say(f"  {path.name}: {report}")

    def _child_env(self) -> dict[str, str]:
        cfg = self.config
        assert self.database_url is not None
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=cfg.effective_temporal_address,
            TEMPORAL_NAMESPACE=cfg.namespace,
            KANALVAKT_STATE_DIR=str(cfg.state_dir),
            KANALVAKT_ARCHIVE_DIR=str(cfg.archive_dir),
            KANALVAKT_WEB_HOST=cfg.web_host,
            KANALVAKT_WEB_PORT=str(cfg.web_port),
            KANALVAKT_PUBLIC_BASE_URL=os.environ.get("KANALVAKT_PUBLIC_BASE_URL",
                                                     cfg.web_url),
            PYTHONUNBUFFERED="1",  # logs appear as they happen, not per 8 KiB
        )
        # The intranet on the local stack: the development sign-in (a person
        # picked from the directory; the web app refuses it when
        # KANALVAKT_ENV=production), plain-http cookies, and a session secret
        # kept in the state folder so a restart keeps people signed in.
        env.setdefault("KANALVAKT_DEV_SIGNIN", "1")
        env.setdefault("KANALVAKT_COOKIE_SECURE", "0")
        if cfg.start_smtp:
            env["KANALVAKT_SMTP_HOST"] = "127.0.0.1"
            env["KANALVAKT_SMTP_PORT"] = str(cfg.smtp_port)
        if not env.get("KANALVAKT_SESSION_SECRET"):
            env["KANALVAKT_SESSION_SECRET"] = session_secret(cfg.state_dir)
        # Payloads in Temporal are encrypted on the local stack too (codec.py).
        if not env.get("KANALVAKT_PAYLOAD_KEYS"):
            env["KANALVAKT_PAYLOAD_KEYS"] = payload_keys(cfg.state_dir)
        env.setdefault("KANALVAKT_CODEC_CORS_ORIGINS",
                       f"http://localhost:{cfg.temporal_ui_port},"
                       f"http://127.0.0.1:{cfg.temporal_ui_port}")
        # The workflow sandbox imports the workflow modules afresh for every
        # new workflow instance; without cached bytecode it compiles them from
        # source each time (a fifth of the worker's CPU in a storm,
        # docs/benchmarks.md). Where the environment forbids bytecode, the
        # children write it into the state folder, never into the source tree.
        if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
            env.setdefault("PYTHONPYCACHEPREFIX", str(cfg.state_dir / "pycache"))
        return env

    async def _wait_for_web(self) -> None:
        """uvicorn binds its socket only after the app's lifespan start-up, so
        an accepted connection means the app is serving."""
        cfg = self.config
        host = "127.0.0.1" if cfg.web_host in {"0.0.0.0", "", "localhost"} else cfg.web_host
        await self._wait_for_port(host, cfg.web_port, "web app", shown_as=cfg.web_url)

    # ---- running

    def _codec_hint(self) -> list[str]:
        """How to read message texts in the stack's Temporal UI: it is served
        with the codec endpoint on its own origin (deploy/ui_proxy.py), so a
        person signed in to the intranet under the same host name reads what
        they may read, without the UI's Codec Server dialog
        (tests/e2e/test_temporal_ui_one_origin.py)."""
        cfg = self.config
        if not cfg.temporal_ui_url:
            return []
        return [
            "  Message texts in the Temporal UI: sign in at",
            f"    {cfg.web_url} (the same host name as the UI's); the UI then decodes",
            "    what you may read (no Codec Server setting needed).",
        ]

    def summary(self) -> str:
        cfg = self.config
        temporal_cli = _temporal_cli_hint(cfg)
        address_flag = ("" if cfg.effective_temporal_address in {"127.0.0.1:7233", "localhost:7233"}
                        else f" --address {cfg.effective_temporal_address}")
        namespace_flag = "" if cfg.namespace == "default" else f" --namespace {cfg.namespace}"
        rows = [
            ("Temporal UI", cfg.temporal_ui_url or "(external server: use its own UI)"),
            ("Temporal gRPC", f"{cfg.effective_temporal_address}  (namespace {cfg.namespace})"),
            ("Web app", cfg.web_url),
            ("Public register", f"{cfg.web_url}/register"),
            ("API docs", f"{cfg.web_url}/docs"),
            ("Database", mask_dsn(self.database_url or "")),
            ("Mail (SMTP)", f"127.0.0.1:{cfg.smtp_port}, saved in {cfg.state_dir / 'mail'}"
             if cfg.start_smtp else "the relay of KANALVAKT_SMTP_HOST"),
            ("State folder", str(cfg.state_dir)),
        ]
        if self._temporal is not None and self._temporal.log_path is not None:
            rows.append(("Temporal log", str(self._temporal.log_path)))
        width = max(len(label) for label, _ in rows)
        ready = f" in {self.ready_after:.1f} s" if self.ready_after is not None else ""
        lines = [
            "",
            "=" * 72,
            f"  Kanalvakt local stack is up{ready}",
            "-" * 72,
            *(f"  {label:<{width}}  {value}" for label, value in rows),
            "-" * 72,
            "  Find cases, e.g. everything waiting for a manager:",
            f"    {temporal_cli} workflow list{address_flag}{namespace_flag} "
            "--query 'KvStage=\"awaiting_manager\"'",
            *self._codec_hint(),
            "  Stop everything: Ctrl-C",
            "=" * 72,
            "",
        ]
        return "\n".join(lines)

    async def supervise(self, stop: asyncio.Event) -> str | None:
        """Keep the children (and the embedded PostgreSQL) running until
        `stop` is set (None), or until a child crashes for good (the reason)."""
        quit_ = asyncio.Event()
        gave_up: list[str] = []

        def give_up(reason: str) -> None:
            gave_up.append(reason)
            quit_.set()

        tasks = [asyncio.ensure_future(self._keep_running(i, quit_, give_up))
                 for i in range(len(self.children))]
        if self._pg_server is not None and self._pgdata is not None:
            tasks.append(asyncio.ensure_future(self._keep_postgres(self._pgdata, quit_)))
        stop_waiter = asyncio.ensure_future(stop.wait())
        quit_waiter = asyncio.ensure_future(quit_.wait())
        try:
            await asyncio.wait({stop_waiter, quit_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            quit_.set()
            stop_waiter.cancel()
            quit_waiter.cancel()
            # Not cancelled: each task sees quit_ and returns, so a restart
            # under way finishes and its child is in self.children for stop().
            await asyncio.gather(*tasks, return_exceptions=True)
        return gave_up[0] if gave_up else None

    async def _keep_running(self, index: int, quit_: asyncio.Event,
                            give_up: Callable[[str], None]) -> None:
        cfg = self.config
        crashes = 0  # in a row, each within restart_stable_after of its start
        while True:
            child = self.children[index]
            if not await _first(child.process.wait(), quit_.wait()):
                return
            if quit_.is_set():
                return
            ran = time.monotonic() - child.started_at
            code = child.process.returncode
            crashes = 1 if ran >= cfg.restart_stable_after else crashes + 1
            child.signal_group(signal.SIGKILL)  # stragglers of the exited leader
            if cfg.restart_give_up_after is not None and crashes > cfg.restart_give_up_after:
                say(f"the {child.name} keeps crashing: {crashes} exits in a row without a "
                    f"run of {cfg.restart_stable_after:.0f} s between them (the last with code "
                    f"{code}); giving up and stopping the stack. {_where_output_is(child)}")
                give_up(f"the {child.name} keeps crashing")
                return
            delay = min(cfg.restart_first_delay * 2 ** (crashes - 1), cfg.restart_max_delay)
            note = (f"; it keeps crashing ({crashes} in a row, giving up after "
                    f"{cfg.restart_give_up_after})" if crashes >= 3 else "")
            say(f"the {child.name} exited with code {code} after {ran:.1f} s; restarting it "
                f"in {delay:g} s{note}. {_where_output_is(child)}")
            if await _first(quit_.wait(), asyncio.sleep(delay)):
                return
            if child.log_path is not None:
                new = await self._spawn_logged(child.name, child.argv, child.env or {},
                                               child.log_path)
            else:
                new = await spawn(child.name, child.argv, env=child.env or {})
            new.restarts = child.restarts + 1
            self.children[index] = new
            if child is self._temporal:
                self._temporal = new
            say(f"restarted the {new.name} (pid {new.process.pid}, restart {new.restarts})")

    async def _keep_postgres(self, pgdata: Path, quit_: asyncio.Event) -> None:
        """The embedded PostgreSQL is not our child (pg_ctl daemonises it):
        its postmaster.pid is watched. Gone for longer than the grace (not a
        restart someone else is doing), it is started again, on the same data
        and socket, so the children's DATABASE_URL stays right."""
        cfg = self.config
        down_since: float | None = None
        delay = cfg.restart_first_delay
        while not quit_.is_set():
            if await _first(quit_.wait(), asyncio.sleep(cfg.postgres_check_every)):
                return
            pid = _postmaster_pid(pgdata)
            if pid is not None:
                if down_since is not None:
                    say(f"PostgreSQL: running again (pid {pid})")
                    down_since, delay = None, cfg.restart_first_delay
                continue
            now = time.monotonic()
            if down_since is None:
                down_since = now
                say("PostgreSQL: the server is not running; starting it again unless it "
                    f"comes back within {cfg.postgres_down_grace:g} s")
                continue
            if now - down_since < cfg.postgres_down_grace:
                continue
            say("PostgreSQL: starting it again")
            try:
                # As pgserver does at first start: (as root) make the folder's
                # parents reachable for its `pgserver` user again (pytest, for
                # one, resets its temp root to 0700 at each session start),
                # initdb skipped, then pg_ctl start.
                await asyncio.to_thread(self._pg_server.ensure_pgdata_inited)
                await asyncio.to_thread(self._pg_server.ensure_postgres_running)
            except Exception as exc:  # pg_ctl failed or timed out: tell, and try again
                say(f"PostgreSQL: could not start it ({type(exc).__name__}); trying again in "
                    f"{delay:g} s; the end of {pgdata / 'log'}:\n{_tail(pgdata / 'log', 6)}")
                if await _first(quit_.wait(), asyncio.sleep(delay)):
                    return
                delay = min(delay * 2, cfg.restart_max_delay)
                continue
            uri = str(self._pg_server.get_uri())
            if uri != self.database_url:
                say(f"PostgreSQL: it came back at {mask_dsn(uri)}, not "
                    f"{mask_dsn(self.database_url or '')}; the worker and web app still use "
                    "the old address: restart the stack")

    # ---- stop

    async def stop(self) -> bool:
        """Reverse order: web (no new requests), worker (finishes its task
        slots), Temporal (nothing talks to it any more), PostgreSQL last.
        True if there was anything to stop."""
        anything = bool(self.children) or self._pg_start is not None
        for child in reversed(self.children):
            await self._stop_child(child)
        await self._stop_postgres()
        return anything

    async def _stop_child(self, child: Child) -> None:
        if not child.running:
            child.signal_group(signal.SIGKILL)  # stragglers of an exited leader
            return
        began = time.monotonic()
        child.signal_group(signal.SIGTERM)
        exited = asyncio.ensure_future(child.process.wait())
        hurry = asyncio.ensure_future(self._hurry.wait())
        try:
            await asyncio.wait({exited, hurry}, timeout=self.config.stop_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurry.cancel()
        if child.running:
            why = ("told to hurry" if self._hurry.is_set()
                   else f"still running {self.config.stop_timeout:.0f} s after SIGTERM")
            say(f"{child.name}: {why}; killing it")
            child.signal_group(signal.SIGKILL)
        await exited
        child.signal_group(signal.SIGKILL)
        say(f"stopped {child.name} ({time.monotonic() - began:.1f} s)")

    async def _stop_postgres(self) -> None:
        if self._pg_server is None and self._pg_start is not None:
            # Start-up was interrupted while pg_ctl was running: let it finish
            # so there is a server handle to stop.
            with contextlib.suppress(Exception):
                self._pg_server = await self._pg_start
        if self._pg_server is None:
            return
        began = time.monotonic()
        server, self._pg_server = self._pg_server, None
        if self._pgdata is not None:
            _refresh_postmaster(server, self._pgdata)
        await asyncio.to_thread(server.cleanup)
        say(f"stopped PostgreSQL ({time.monotonic() - began:.1f} s)")


def _temporal_cli_hint(cfg: StackConfig) -> str:
    """How to call our `temporal` from the developer's shell. dev.py puts
    .venv/bin on PATH for the stack only, not for the shell it runs in, so
    the venv's CLI is shown relative to the repo (where dev.py is run)."""
    try:
        ours = (cfg.temporal_bin or find_temporal_binary()).absolute()
    except StackError:
        return "temporal"
    if ours.is_relative_to(settings.ROOT):
        return str(ours.relative_to(settings.ROOT))
    on_path = shutil.which("temporal")
    return "temporal" if on_path and Path(on_path).absolute() == ours else str(ours)


def _pgserver_get(pgdata: Path) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns about an unset XDG_RUNTIME_DIR on import; the
        # fallback it picks is fine for pgserver's lock file.
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _forget_dead_pg_handles(pgdata: Path) -> None:
    """pgserver stops the server only when the last process holding a handle
    lets go, counted in pgdata/.handle_pids.json. A stack that was killed
    (SIGKILL, power loss) leaves its pid there and no later stack would ever
    stop PostgreSQL again. Dead pids are dropped before we take our handle."""
    import json

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


async def _first(*aws: Awaitable[Any]) -> bool:
    """Wait until the first of `aws` completes, cancel the rest; True if the
    first one given is among the completed (so `_first(quit.wait(), sleep)`
    is True when told to quit)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    return tasks[0] in done


def _refresh_postmaster(server: Any, pgdata: Path) -> None:
    """pgserver stops the postmaster it started (or last started itself)
    and only that one: after a restart by anyone else (`pg_ctl restart`)
    its handle names a process that is gone, and cleanup() would leave the
    new server running. Point the handle at the live one."""
    try:
        from pgserver.utils import PostmasterInfo
    except ImportError:
        return
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None and info.is_running():
        server._postmaster_info = info


def _postmaster_pid(pgdata: Path) -> int | None:
    """The live postmaster of `pgdata`, from postmaster.pid, or None."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    # A postmaster killed outright is reparented to PID 1, and in a container
    # that may never reap it: a zombie is not a running server.
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return pid
    return None if fields and fields[0] in {"Z", "X"} else pid


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------
# Entry points


async def run_stack(
    stop: asyncio.Event, config: StackConfig, *, hurry: asyncio.Event | None = None
) -> int:
    """Bring the stack up, run until `stop` is set or a child dies, tear it
    down. Returns the process exit code: 0 after a requested stop, 1 when
    start-up failed or a child exited on its own. Setting `hurry` during the
    teardown skips the graceful waits (SIGKILL at once)."""
    stack = Stack(config, hurry)
    code = 0
    try:
        starting = asyncio.ensure_future(stack.start())
        stop_waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        stop_waiter.cancel()
        if not starting.done():
            say("stop requested during start-up")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            return 0
        error = starting.exception()
        if isinstance(error, StackError):
            say(f"cannot start: {error}")
            return 1
        if error is not None:
            say("start-up failed:\n" + "".join(traceback.format_exception(error)))
            return 1
        print(stack.summary(), flush=True)
        gave_up = await stack.supervise(stop)
        if gave_up is not None:
            code = 1
            say(f"{gave_up}: stopping the rest")
        else:
            say("stopping")
        return code
    finally:
        began = time.monotonic()
        if await stack.stop():
            say(f"all stopped in {time.monotonic() - began:.1f} s")


async def _main(config: StackConfig) -> int:
    stop = asyncio.Event()
    hurry = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            say(f"{sig.name} again: not waiting for anything any more")
            hurry.set()
        else:
            say(f"{sig.name} received")
            stop.set()

    # Ctrl-C (SIGINT) only reaches the stack: the children run in their own
    # sessions and are stopped by us, in order. SIGHUP: the terminal closed.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal, sig)
    return await run_stack(stop, config, hurry=hurry)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.stack",
        description="Run Kanalvakt's local stack in the foreground (Ctrl-C stops it). "
                    "Configured by environment variables; see the module docstring.",
    )
    parser.parse_args(argv)
    configure_logging(settings.load().log_level, service="stack")
    # pgserver narrates every pg_ctl call at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return asyncio.run(_main(StackConfig.from_env()))


def _exit_now(code: int) -> None:
    """Exit without interpreter finalisation.

    temporalio's native runtime can crash the interpreter while it finalises
    ("PyGILState_Release: thread state ... must be current", SIGSEGV or
    SIGABRT; sdk-python#300). Measured here: 3 of 5 plain
    `Client.connect()` scripts died that way at exit. Everything the stack
    owns is already stopped by now (run_stack's finally), so skipping atexit
    and finalisers loses nothing, and Ctrl-C reliably means exit code 0.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
