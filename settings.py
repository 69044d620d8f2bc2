"""Process settings in one typed place (pydantic-settings), with defaults for
the local stack.

Every setting is a field of `Settings` whose alias is its environment
variable; the table in deploy/README.md ("Settings") names every one
(tests/integration/test_settings.py keeps it complete). A value comes from,
first to last:

1. the keyword arguments (tests, tools);
2. the environment variable (`KANALVAKT_WEB_PORT=8080`);
3. a file named by `<VARIABLE>_FILE` (`KANALVAKT_SESSION_SECRET_FILE=
   /run/secrets/session`: a mounted secret), its content without the final
   newline;
4. a file named as the variable in the folder `KANALVAKT_SECRETS_DIR`
   (Kubernetes' Secret mounted as a volume: one file per key);
5. the default.

An empty variable counts as unset. `load()` validates them all at once and
stops the process with a message naming each bad setting's variable (never
the value of a secret).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ROOT = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("KANALVAKT_STATE_DIR") or ROOT / ".state")

SECRETS_DIR_VARIABLE = "KANALVAKT_SECRETS_DIR"

# Marks a field whose value is a secret: never echoed in an error message.
_SECRET: dict[str, Any] = {"secret": True}

CommaList = Annotated[tuple[str, ...], NoDecode]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _env(name: str, default: Any, description: str, **kw: Any) -> Any:
    return Field(default, alias=name, description=description, **kw)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        populate_by_name=True, frozen=True, env_ignore_empty=True, extra="ignore",
        case_sensitive=True)

    # ---- where things are
    database_url: str = _env("DATABASE_URL", "", "PostgreSQL URL (postgresql://user:pw@host/db)",
                             json_schema_extra=_SECRET)
    temporal_address: str = _env(
        "TEMPORAL_ADDRESS", "localhost:7233",
        "Temporal frontend host:port (Temporal's own variable, read by temporalio.envconfig "
        "with the other TEMPORAL_* ones; deploy/temporal.py)")
    temporal_namespace: str = _env("TEMPORAL_NAMESPACE", "default", "Temporal namespace")
    task_queue: str = _env("KANALVAKT_TASK_QUEUE", "kanalvakt", "the workers' task queue")
    state_dir: Path = _env("KANALVAKT_STATE_DIR", STATE_DIR,
                           "the local stack's state folder (.state/)")
    archive_dir_setting: Path | None = _env(
        "KANALVAKT_ARCHIVE_DIR", None,
        "the worker's archive packages' folder: the archive itself, or where packages are "
        "made before S3 delivery; the web needs none (default <state dir>/archive)")
    web_host: str = _env("KANALVAKT_WEB_HOST", "127.0.0.1", "the web app's listening address")
    web_port: int = _env("KANALVAKT_WEB_PORT", 8000, "the web app's port", ge=1, le=65535)

    # ---- PostgreSQL connections (store/db.py)
    db_pool_min_size: int = _env("KANALVAKT_DB_POOL_MIN_SIZE", 10,
                                 "connections a worker or web process keeps open", ge=0)
    db_pool_max_size: int = _env("KANALVAKT_DB_POOL_MAX_SIZE", 10,
                                 "connections a worker or web process opens at most", ge=1)
    db_sslmode: SslMode | None = _env(
        "KANALVAKT_DB_SSLMODE", None,
        "TLS to PostgreSQL: disable, allow, prefer, require, verify-ca, verify-full "
        "(default: the URL's sslmode, else libpq's prefer)")
    db_sslrootcert: Path | None = _env(
        "KANALVAKT_DB_SSLROOTCERT", None,
        "CA certificate(s) that signed the PostgreSQL server's certificate (verify-ca, "
        "verify-full)")

    # ---- start-up (deploy/waiting.py): the worker and the web app wait for
    # PostgreSQL and Temporal instead of exiting, this many attempts with an
    # exponential pause (0.5 s doubling, capped), then stop with an error.
    # The defaults wait about 2 minutes.
    startup_attempts: int = _env("KANALVAKT_STARTUP_ATTEMPTS", 30,
                                 "attempts to reach PostgreSQL and Temporal at start", ge=1)
    startup_max_delay: float = _env("KANALVAKT_STARTUP_MAX_DELAY", 5.0,
                                    "longest pause between those attempts, seconds", gt=0)

    # ---- shutdown (issue 12): SIGTERM stops taking work and lets what runs finish
    worker_shutdown_seconds: float = _env(
        "KANALVAKT_WORKER_SHUTDOWN_SECONDS", 60.0,
        "the worker's graceful_shutdown_timeout: running activities may finish this long "
        "after SIGTERM before they are cancelled", ge=0)
    web_shutdown_seconds: float = _env(
        "KANALVAKT_WEB_SHUTDOWN_SECONDS", 20.0,
        "uvicorn's timeout_graceful_shutdown: open requests may finish this long", ge=0)

    # ---- observability (issue 12; deploy/README.md "Metrics and health")
    log_level: LogLevel = _env("KANALVAKT_LOG_LEVEL", "INFO", "log level of worker and web")
    service: str = _env("KANALVAKT_SERVICE", "",
                        "the `service` key of every log line (the local stack sets it)")
    worker_health_host: str = _env("KANALVAKT_WORKER_HEALTH_HOST", "0.0.0.0",
                                   "the worker's metrics and health port's address")
    worker_health_port: int = _env(
        "KANALVAKT_WORKER_HEALTH_PORT", 9464,
        "the worker's /metrics, /livez, /readyz port (0: none)", ge=0, le=65535)
    metrics_cache_seconds: float = _env(
        "KANALVAKT_METRICS_CACHE_SECONDS", 15.0,
        "how long the database gauges of /metrics are reused before asked again", ge=0)

    # ---- the intranet's sign-in (web/identity.py, web/oidc.py)
    # "production" refuses the development sign-in and needs a session secret.
    env: str = _env("KANALVAKT_ENV", "development",
                    "`production` refuses the development sign-in; requires the rest")
    # The development sign-in (pick a person from the directory): only when
    # explicitly on; the local stack and the tests set it.
    dev_signin: bool = _env("KANALVAKT_DEV_SIGNIN", False, "the development sign-in")
    # Signs the session cookie. The local stack keeps one in .state/; required
    # in production.
    session_secret: str = _env("KANALVAKT_SESSION_SECRET", "",
                               "signs the session cookie (32+ characters)",
                               json_schema_extra=_SECRET)
    # Secure cookies: on unless turned off, and never off in production.
    cookie_secure: bool = _env("KANALVAKT_COOKIE_SECURE", True, "Secure cookies")
    session_max_age: int = _env("KANALVAKT_SESSION_MAX_AGE", 10 * 3600,
                                "session length, seconds", ge=1)
    # OpenID Connect (Entra ID and the like): sign-in is offered when the
    # issuer and the client id are set.
    oidc_issuer: str = _env("KANALVAKT_OIDC_ISSUER", "", "OpenID Connect issuer (https)")
    oidc_client_id: str = _env("KANALVAKT_OIDC_CLIENT_ID", "", "OpenID Connect client id")
    oidc_client_secret: str = _env("KANALVAKT_OIDC_CLIENT_SECRET", "",
                                   "OpenID Connect client secret", json_schema_extra=_SECRET)
    # Where the provider sends the browser back: <public url>/auth/oidc/callback.
    oidc_redirect_url: str = _env("KANALVAKT_OIDC_REDIRECT_URL", "",
                                  "https://<host>/auth/oidc/callback")
    # ID-token claims tried in order; the first present names the person
    # (matched against the directory's e-mail address, then its person id).
    oidc_claims: CommaList = _env("KANALVAKT_OIDC_CLAIMS", ("preferred_username", "email"),
                                  "ID-token claims naming the person, comma-separated")
    oidc_scopes: str = _env("KANALVAKT_OIDC_SCOPES", "openid profile email", "scopes asked")
    # Where the provider sends the browser after its sign-out (RP-Initiated
    # Logout; register it at the provider). Default: <origin of
    # KANALVAKT_OIDC_REDIRECT_URL>/signed-out, our own signed-out page.
    oidc_post_logout_redirect_url: str = _env(
        "KANALVAKT_OIDC_POST_LOGOUT_REDIRECT_URL", "", "where the provider sends back after "
        "its sign-out")
    # Optional: the one municipality whose directory this provider signs in.
    oidc_municipality: str = _env("KANALVAKT_OIDC_MUNICIPALITY", "",
                                  "the one municipality this provider signs in")

    # ---- payload encryption (codec.py, web/codec_api.py)
    # "id1:base64key,id0:base64key": the first encrypts, all decrypt. Required
    # in production; the local stack keeps one in .state/payload-keys.
    payload_keys: str = _env("KANALVAKT_PAYLOAD_KEYS", "",
                             "payload keys `id1:base64,id0:base64` (first encrypts)",
                             json_schema_extra=_SECRET)
    # The Temporal UI's origin, allowed (with credentials) to call /api/codec.
    codec_cors_origins: CommaList = _env(
        "KANALVAKT_CODEC_CORS_ORIGINS", ("http://localhost:8233",),
        "origins allowed to call /api/codec (the Temporal UI), comma-separated")

    # ---- Meta (web/webhooks.py, adapters/connectors/registry.py)
    meta_app_secret: str = _env("META_APP_SECRET", "", "verifies Meta's webhook deliveries",
                                json_schema_extra=_SECRET)
    meta_verify_token: str = _env("META_VERIFY_TOKEN", "",
                                  "Meta's webhook subscription handshake token",
                                  json_schema_extra=_SECRET)
    meta_page_tokens: str = _env("META_PAGE_TOKENS", "",
                                 "JSON object: page id to page access token",
                                 json_schema_extra=_SECRET)
    meta_graph_url: str = _env("META_GRAPH_URL", "", "the Graph API's base URL (tests)")

    # ---- archive delivery (activities/snapshot.py, adapters/snapshot_delivery.py)
    archive_delivery: Literal["folder", "s3"] = _env(
        "KANALVAKT_ARCHIVE_DELIVERY", "folder", "where archive packages go: folder or s3")
    archive_s3_endpoint: str = _env("KANALVAKT_ARCHIVE_S3_ENDPOINT", "", "S3 endpoint URL")
    archive_s3_bucket: str = _env("KANALVAKT_ARCHIVE_S3_BUCKET", "", "S3 bucket")
    archive_s3_region: str = _env("KANALVAKT_ARCHIVE_S3_REGION", "us-east-1", "S3 region")
    archive_s3_prefix: str = _env("KANALVAKT_ARCHIVE_S3_PREFIX", "", "S3 key prefix")
    archive_s3_multipart_mib: int = _env(
        "KANALVAKT_ARCHIVE_S3_MULTIPART_MIB", 8,
        "files larger than this many MiB go up in parts of this size (at least 5)", ge=5)
    aws_access_key_id: str = _env(
        "AWS_ACCESS_KEY_ID", "", "S3 access key (unset: boto3's credential chain, e.g. a "
        "web identity token or an instance role)")
    aws_secret_access_key: str = _env("AWS_SECRET_ACCESS_KEY", "", "S3 secret key",
                                      json_schema_extra=_SECRET)
    aws_session_token: str = _env("AWS_SESSION_TOKEN", "",
                                  "S3 session token of temporary credentials",
                                  json_schema_extra=_SECRET)
    # ---- records exports (workflows/records_export.py)
    records_export_keep_days: int = _env(
        "KANALVAKT_RECORDS_EXPORT_KEEP_DAYS", 7,
        "days a records export's package stays downloadable before it is emptied", ge=1)
    chromium: str = _env("KANALVAKT_CHROMIUM", "", "the Chromium binary for snapshots")

    # ---- the intake feeder (feeder.py, store/intake.py)
    # A failing row is tried again after base seconds, twice as long each
    # time up to cap, and parked after max attempts (`kanalvakt intake`).
    intake_max_attempts: int = _env("KANALVAKT_INTAKE_MAX_ATTEMPTS", 10,
                                    "a failing intake row is parked after this many", ge=1)
    intake_retry_base_seconds: float = _env("KANALVAKT_INTAKE_RETRY_BASE_SECONDS", 2.0,
                                            "first pause before a failed row's retry", gt=0)
    intake_retry_cap_seconds: float = _env("KANALVAKT_INTAKE_RETRY_CAP_SECONDS", 900.0,
                                           "longest pause between a row's retries", gt=0)
    # Issue 12: a feeder holds the rows it claimed this long; one that dies
    # (SIGKILL, a lost pod) leaves them to another feeder when it runs out.
    intake_lease_seconds: float = _env(
        "KANALVAKT_INTAKE_LEASE_SECONDS", 60.0,
        "a feeder holds the intake rows it claimed this long (longer than a batch takes)", gt=0)

    # ---- notifications (issue 13): the outbox sender (outbox_sender.py) and
    # its mail relay (adapters/mail.py). The local stack runs an SMTP server
    # of its own on KANALVAKT_SMTP_PORT that saves mails under .state/mail/.
    smtp_host: str = _env("KANALVAKT_SMTP_HOST", "localhost", "the mail relay's host")
    smtp_port: int = _env("KANALVAKT_SMTP_PORT", 8025, "the mail relay's port", ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = _env(
        "KANALVAKT_SMTP_SECURITY", "none",
        "none, starttls or tls (implicit TLS, usually port 465) to the relay")
    smtp_ca_file: str = _env("KANALVAKT_SMTP_CA_FILE", "",
                             "a CA bundle (PEM) for the relay's certificate (an internal CA)")
    smtp_username: str = _env("KANALVAKT_SMTP_USERNAME", "", "login at the relay (empty: none)")
    smtp_password: str = _env("KANALVAKT_SMTP_PASSWORD", "", "password at the relay",
                              json_schema_extra=_SECRET)
    mail_from: str = _env("KANALVAKT_MAIL_FROM", "kanalvakt@localhost",
                          "the notification mails' sender address")
    smtp_timeout_seconds: float = _env("KANALVAKT_SMTP_TIMEOUT_SECONDS", 30.0,
                                       "a relay slower than this is tried again later", gt=0)
    public_base_url: str = _env("KANALVAKT_PUBLIC_BASE_URL", "http://localhost:8000",
                                "the intranet's address as people reach it (links in mails)")
    # A failed delivery is tried again after base seconds, twice as long each
    # time up to cap; after max attempts it is "failed" (`kanalvakt outbox`).
    outbox_max_attempts: int = _env("KANALVAKT_OUTBOX_MAX_ATTEMPTS", 8,
                                    "a delivery is failed after this many attempts", ge=1)
    outbox_retry_base_seconds: float = _env("KANALVAKT_OUTBOX_RETRY_BASE_SECONDS", 30.0,
                                            "first pause before a failed delivery's retry", gt=0)
    outbox_retry_cap_seconds: float = _env("KANALVAKT_OUTBOX_RETRY_CAP_SECONDS", 3600.0,
                                           "longest pause between a delivery's retries", gt=0)
    outbox_lease_seconds: float = _env(
        "KANALVAKT_OUTBOX_LEASE_SECONDS", 300.0,
        "a sender holds the rows it took this long (longer than the SMTP timeout)", gt=0)
    outbox_poll_seconds: float = _env("KANALVAKT_OUTBOX_POLL_SECONDS", 2.0,
                                      "how often an idle outbox sender looks for work", gt=0)

    # ---- the web boundary (web/boundary.py): request bodies over these are
    # refused with 413 before they are read.
    # Forms and the JSON API.
    max_body_bytes: int = _env("KANALVAKT_MAX_BODY_BYTES", 1024 * 1024,
                               "largest form or JSON body", ge=1024)
    # Meta's webhook: 1000 updates at most per batch (web/boundary.py says how
    # this default follows from it).
    webhook_max_body_bytes: int = _env("KANALVAKT_WEBHOOK_MAX_BODY_BYTES", 16 * 1024 * 1024,
                                       "largest webhook delivery", ge=1024)
    # Screenshot uploads (multipart): a 20 MB screenshot and its fields.
    upload_max_body_bytes: int = _env("KANALVAKT_UPLOAD_MAX_BODY_BYTES", 21 * 1024 * 1024,
                                      "largest screenshot upload", ge=1024)

    # ---- the local stack only (deploy/stack.py)
    temporal_port: int = _env("TEMPORAL_PORT", 7233, "the local stack's Temporal dev server port",
                              ge=1, le=65535)
    temporal_ui_port: int = _env("TEMPORAL_UI_PORT", 8233, "the local stack's Temporal UI port",
                                 ge=1, le=65535)
    ui_codec_endpoint: str = _env("KANALVAKT_UI_CODEC_ENDPOINT", "",
                                  "the codec endpoint the local Temporal UI calls")

    @field_validator("oidc_claims", "codec_cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("codec_cors_origins", mode="after")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(origin.rstrip("/") for origin in value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileVariables(settings_cls), file_secret_settings)

    @property
    def archive_dir(self) -> Path:
        return self.archive_dir_setting or self.state_dir / "archive"

    @property
    def production(self) -> bool:
        return self.env.strip().lower() in {"production", "prod"}

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)


class SettingsError(SystemExit):
    """A setting's value is wrong: the message names its variable."""


class FileVariables(PydanticBaseSettingsSource):
    """`<VARIABLE>_FILE=/path`: the setting's value is the file's content
    (a mounted secret), without the final newline."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = variable(field_name)
        path = os.environ.get(f"{name}_FILE", "").strip()
        if not path:
            return None, name, False
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n"), name, False
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


def variable(field_name: str) -> str:
    """The environment variable of a field of Settings."""
    alias = Settings.model_fields[field_name].alias
    assert alias is not None
    return alias


def secret(field_name: str) -> bool:
    extra = Settings.model_fields[field_name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def explain(error: ValidationError) -> str:
    """One line per bad setting, naming its variable; a secret's value is
    never repeated."""
    by_variable = {variable(name): name for name in Settings.model_fields}
    lines = []
    for problem in error.errors():
        key = str(problem["loc"][0]) if problem["loc"] else "?"
        name = by_variable.get(key, key)
        key = variable(name) if name in Settings.model_fields else key
        shown = "" if name in Settings.model_fields and secret(name) else (
            f" (got {problem.get('input')!r})")
        lines.append(f"{key}: {problem['msg']}{shown}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load(**overrides: Any) -> Settings:
    """The process's settings, validated; a bad one stops the process with a
    message naming its variable (SettingsError, a SystemExit)."""
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE, "").strip() or None
    try:
        return Settings(_secrets_dir=secrets_dir, **overrides)
    except ValidationError as error:
        raise SettingsError(explain(error)) from None
