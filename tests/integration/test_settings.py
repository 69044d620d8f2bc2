"""Issue 12, part 3: the settings in one typed place (settings.py).

Every setting is documented in deploy/README.md; a bad value stops the
worker and the web app with a message naming its variable (never echoing a
secret); secrets are read from `<VARIABLE>_FILE` and from
KANALVAKT_SECRETS_DIR; the old variables and their formats still work; and
the PostgreSQL pool sizes and TLS settings reach every connection: against
a TLS front to the test server (PostgreSQL's own SSLRequest, then TLS) the
verifying modes check the chain and the host name, and `require` is refused
by a server that offers no TLS."""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

import settings
from store.db import create_pool, migrate, tls_option
from tests.integration.test_temporal_tls import _cert, _key, _write
from tests.servers import pipe, port_for_another_process

README = settings.ROOT / "deploy" / "README.md"
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _documented() -> set[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Settings\n")
    end = text.index("\n## ", start + 1)
    return {m.group(1) for m in re.finditer(r"^\| `([A-Z0-9_]+)` \|", text[start:end], re.M)}


def test_every_setting_is_in_the_settings_table_of_deploy_readme() -> None:
    variables = {settings.variable(name) for name in settings.Settings.model_fields}
    documented = _documented()
    assert variables - documented == set(), "settings missing from deploy/README.md"
    assert documented - variables == set(), "deploy/README.md lists settings that are gone"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("KANALVAKT_", "META_", "AWS_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def _run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("KANALVAKT_", "META_")) and k != "DATABASE_URL"}
    return subprocess.run([sys.executable, *argv], cwd=settings.ROOT, capture_output=True,
                          text=True, timeout=60, env={**base, **env},
                          stdin=subprocess.DEVNULL)


def test_a_bad_setting_stops_the_worker_and_the_web_app_naming_it(tmp_path: Path) -> None:
    # A database that is not there: had the settings passed, the process
    # would wait for it instead of stopping at once.
    common = {"DATABASE_URL": "postgresql://kv@127.0.0.1:9/kv",
              "KANALVAKT_STATE_DIR": str(tmp_path), "KANALVAKT_STARTUP_ATTEMPTS": "1"}
    worker = _run(["-m", "worker"], **common, KANALVAKT_WORKER_SHUTDOWN_SECONDS="soon",
                  KANALVAKT_WORKER_HEALTH_PORT="0")
    assert worker.returncode == 1, worker.stderr
    assert "KANALVAKT_WORKER_SHUTDOWN_SECONDS" in worker.stderr and "'soon'" in worker.stderr
    assert "Traceback" not in worker.stderr, worker.stderr

    web = _run(["-m", "uvicorn", "web.app:app", "--port", str(port_for_another_process())],
               **common, KANALVAKT_DB_POOL_MAX_SIZE="0", KANALVAKT_LOG_LEVEL="LOUD")
    assert web.returncode != 0
    assert "KANALVAKT_DB_POOL_MAX_SIZE: Input should be greater than or equal to 1" in web.stderr
    assert "KANALVAKT_LOG_LEVEL" in web.stderr and "'LOUD'" in web.stderr


def test_a_secret_s_value_is_never_repeated_in_the_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as stopped:
        settings.load(database_url=["postgresql://kv:hunter2@db/kv"], web_port="eighty")
    message = str(stopped.value)
    assert "DATABASE_URL: Input should be a valid string" in message
    assert "hunter2" not in message
    assert "KANALVAKT_WEB_PORT" in message and "'eighty'" in message


def test_secrets_from_a_file_variable_and_from_the_secrets_folder(
        clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "KANALVAKT_SESSION_SECRET").write_text("s" * 40 + "\n")
    (folder / "META_APP_SECRET").write_text("from-the-folder")
    (folder / "KANALVAKT_PAYLOAD_KEYS").write_text("from-the-folder")
    keys = tmp_path / "payload-keys"
    keys.write_text("k1:from-the-file\n")
    clean_env.setenv("KANALVAKT_SECRETS_DIR", str(folder))
    clean_env.setenv("KANALVAKT_PAYLOAD_KEYS_FILE", str(keys))
    clean_env.setenv("META_APP_SECRET", "from-the-environment")
    cfg = settings.load()
    assert cfg.session_secret == "s" * 40  # the folder, without the newline
    assert cfg.payload_keys == "k1:from-the-file"  # a _FILE before the folder
    assert cfg.meta_app_secret == "from-the-environment"  # the variable before both
    assert cfg.oidc_client_secret == ""  # nowhere: the default

    clean_env.setenv("KANALVAKT_OIDC_CLIENT_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(SystemExit, match="KANALVAKT_OIDC_CLIENT_SECRET_FILE: cannot read"):
        settings.load()


def test_the_variables_and_their_formats_of_before_still_work(
        clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("KANALVAKT_OIDC_CLAIMS", "sub, email,")
    clean_env.setenv("KANALVAKT_CODEC_CORS_ORIGINS", "http://ui.example/, http://b.example")
    clean_env.setenv("KANALVAKT_COOKIE_SECURE", "0")
    clean_env.setenv("KANALVAKT_DEV_SIGNIN", "")  # empty: unset, off
    clean_env.setenv("KANALVAKT_LOG_LEVEL", "debug")
    clean_env.setenv("KANALVAKT_STATE_DIR", str(tmp_path))
    clean_env.setenv("DATABASE_URL", "postgresql://kv@db/kv")
    cfg = settings.load()
    assert cfg.oidc_claims == ("sub", "email")
    assert cfg.codec_cors_origins == ("http://ui.example", "http://b.example")
    assert cfg.cookie_secure is False and cfg.dev_signin is False
    assert cfg.log_level == "DEBUG" and cfg.database_url == "postgresql://kv@db/kv"
    assert cfg.archive_dir == tmp_path / "archive"
    # Tests and tools still build them by field name.
    assert settings.Settings(env="production", session_max_age=60).production


async def test_pool_sizes_come_from_the_settings(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANALVAKT_DB_POOL_MIN_SIZE", "2")
    monkeypatch.setenv("KANALVAKT_DB_POOL_MAX_SIZE", "3")
    pool = await create_pool(database_url)
    try:
        assert (pool.get_min_size(), pool.get_max_size()) == (2, 3)
        held = [await pool.acquire() for _ in range(3)]
        with pytest.raises(TimeoutError):
            await pool.acquire(timeout=0.5)
        for conn in held:
            await pool.release(conn)
    finally:
        await pool.close()
    # A caller's own size wins (the CLI's small pools), never min > max.
    small = await create_pool(database_url, max_size=1)
    assert (small.get_min_size(), small.get_max_size()) == (1, 1)
    await small.close()


# --------------------------------------------------------------------------- TLS


@dataclass
class Front:
    """PostgreSQL's TLS in front of the test server: answers the client's
    SSLRequest with S (TLS, then the plain protocol goes on to the server's
    Unix socket) or, with `tls=False`, with N (a server without TLS)."""

    port: int
    tls: bool = True
    handshakes: int = 0
    refused: list[str] = field(default_factory=list)


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    localhost: tuple[Path, Path]
    elsewhere: tuple[Path, Path]  # a certificate of our CA for another host name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pg-pki")
    ca_key, other_key = _key(), _key()
    ca = _cert("Kanalvakt DB CA", ca_key, None, ca_key, ca=True)
    other = _cert("Another CA", other_key, None, other_key, ca=True)
    ca_path, _ = _write(folder, "ca", ca, ca_key)
    other_path, _ = _write(folder, "other-ca", other, other_key)
    server_key = _key()
    localhost = _write(folder, "localhost", _cert(
        "localhost", server_key, ca, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH), server_key)
    elsewhere = _write(folder, "elsewhere", _cert("db.elsewhere.example", server_key, ca, ca_key),
                       server_key)
    return Pki(ca_path, other_path, localhost, elsewhere)


def _socket_of(dsn: str) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or parse_qs(parts.query)["host"][0]
    return f"{host}/.s.PGSQL.{parts.port or 5432}"


def _over_tcp(dsn: str, port: int, host: str = "localhost") -> str:
    """The same database and user, over TCP to the front."""
    parts = urlsplit(dsn)
    user = parts.username or "postgres"
    return urlunsplit(("postgresql", f"{user}@{host}:{port}", parts.path, "", ""))


async def _serve_front(front: Front, dsn: str, certificate: tuple[Path, Path]
                       ) -> asyncio.Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    upstream = _socket_of(dsn)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.readexactly(8)
            if first != SSL_REQUEST:
                raise ConnectionError("no SSLRequest")
            writer.write(b"S" if front.tls else b"N")
            await writer.drain()
            if front.tls:
                await writer.start_tls(context)
                front.handshakes += 1
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError) as exc:
            front.refused.append(type(exc).__name__)
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_unix_connection(upstream)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", front.port)


@pytest.fixture
async def front(database_url: str, pki: Pki) -> AsyncIterator[tuple[Front, str]]:
    f = Front(port_for_another_process())
    server = await _serve_front(f, database_url, pki.localhost)
    try:
        yield f, _over_tcp(database_url, f.port)
    finally:
        server.close()


async def test_verify_full_with_the_root_certificate_goes_through_tls(
        front: tuple[Front, str], pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    f, dsn = front
    monkeypatch.setenv("KANALVAKT_DB_SSLMODE", "verify-full")
    monkeypatch.setenv("KANALVAKT_DB_SSLROOTCERT", str(pki.ca))
    monkeypatch.setenv("KANALVAKT_DB_POOL_MIN_SIZE", "2")
    pool = await create_pool(dsn)
    try:
        assert await pool.fetchval("SELECT 41 + 1") == 42
        assert f.handshakes == 2  # every connection of the pool
    finally:
        await pool.close()
    assert await migrate(dsn) == []  # the migration runner too (all applied)
    assert f.handshakes == 3

    # Another CA's root: the server's chain is refused, nothing sent.
    monkeypatch.setenv("KANALVAKT_DB_SSLROOTCERT", str(pki.other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        await create_pool(dsn)


async def test_verify_full_checks_the_host_name_and_verify_ca_only_the_chain(
        database_url: str, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    f = Front(port_for_another_process())
    server = await _serve_front(f, database_url, pki.elsewhere)
    dsn = _over_tcp(database_url, f.port)
    monkeypatch.setenv("KANALVAKT_DB_SSLROOTCERT", str(pki.ca))
    try:
        monkeypatch.setenv("KANALVAKT_DB_SSLMODE", "verify-full")
        with pytest.raises(ssl.SSLCertVerificationError, match="(?i)hostname|ip address"):
            await create_pool(dsn, min_size=1)
        monkeypatch.setenv("KANALVAKT_DB_SSLMODE", "verify-ca")
        pool = await create_pool(dsn, min_size=1)
        assert await pool.fetchval("SELECT 1") == 1
        await pool.close()
    finally:
        server.close()


async def test_require_is_refused_by_a_server_without_tls(
        front: tuple[Front, str], monkeypatch: pytest.MonkeyPatch) -> None:
    f, dsn = front
    f.tls = False
    monkeypatch.setenv("KANALVAKT_DB_SSLMODE", "require")
    with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
        await create_pool(dsn, min_size=1)
    monkeypatch.setenv("KANALVAKT_DB_SSLMODE", "prefer")
    pool = await create_pool(dsn, min_size=1)
    assert await pool.fetchval("SELECT 1") == 1
    await pool.close()


def test_tls_option_of_the_settings() -> None:
    assert tls_option(None, None) is None  # the URL decides
    assert tls_option("require", None) == "require"
    assert tls_option("disable", Path("/x")) == "disable"


def _levels(stderr: str) -> list[tuple[str, str]]:
    found = []
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        found.append((str(record.get("level")), str(record.get("event"))))
    return found


@pytest.mark.parametrize("argv", [["-m", "worker"], ["-m", "uvicorn", "web.app:app"]],
                         ids=["worker", "web"])
def test_kanalvakt_log_level_is_honoured_by_worker_and_web(argv: list[str],
                                                           tmp_path: Path) -> None:
    """Both wait for a database that is not there (2 attempts), then stop:
    at INFO their lines of every level are written, at ERROR only errors."""
    if "uvicorn" in argv:
        argv = [*argv, "--port", str(port_for_another_process())]
    common = {"DATABASE_URL": "postgresql://kv@127.0.0.1:9/kv",
              "KANALVAKT_STATE_DIR": str(tmp_path), "KANALVAKT_STARTUP_ATTEMPTS": "2",
              "KANALVAKT_STARTUP_MAX_DELAY": "0.1", "KANALVAKT_WORKER_HEALTH_PORT": "0"}
    loud = _levels(_run(argv, **common, KANALVAKT_LOG_LEVEL="INFO").stderr)
    quiet = _levels(_run(argv, **common, KANALVAKT_LOG_LEVEL="error").stderr)
    assert any(level == "warning" and event.startswith("waiting for PostgreSQL at 127.0.0.1:9")
               for level, event in loud), loud
    if "uvicorn" in argv:
        assert any(level == "info" and event.startswith("Started server process")
                   for level, event in loud), loud
    assert quiet and {level for level, _ in quiet} == {"error"}, quiet
    assert any("did not answer after 2 attempts" in event for _, event in quiet), quiet
