"""Process settings from the environment, with defaults for the local stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("KANALVAKT_STATE_DIR", ROOT / ".state"))


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("DATABASE_URL", ""))
    temporal_address: str = field(
        default_factory=lambda: os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
    )
    temporal_namespace: str = field(
        default_factory=lambda: os.environ.get("TEMPORAL_NAMESPACE", "default")
    )
    task_queue: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_TASK_QUEUE", "kanalvakt")
    )
    archive_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("KANALVAKT_ARCHIVE_DIR", STATE_DIR / "archive")
        )
    )
    web_host: str = field(default_factory=lambda: os.environ.get("KANALVAKT_WEB_HOST", "127.0.0.1"))
    web_port: int = field(default_factory=lambda: int(os.environ.get("KANALVAKT_WEB_PORT", "8000")))

    # ---- start-up (deploy/waiting.py): the worker and the web app wait for
    # PostgreSQL and Temporal instead of exiting, this many attempts with an
    # exponential pause (0.5 s doubling, capped), then stop with an error.
    # The defaults wait about 2 minutes.
    startup_attempts: int = field(
        default_factory=lambda: int(os.environ.get("KANALVAKT_STARTUP_ATTEMPTS", "30")))
    startup_max_delay: float = field(
        default_factory=lambda: float(os.environ.get("KANALVAKT_STARTUP_MAX_DELAY", "5")))

    # ---- the intranet's sign-in (web/identity.py, web/oidc.py)
    # "production" refuses the development sign-in and needs a session secret.
    env: str = field(default_factory=lambda: os.environ.get("KANALVAKT_ENV", "development"))
    # The development sign-in (pick a person from the directory): only when
    # explicitly on; the local stack and the tests set it.
    dev_signin: bool = field(default_factory=lambda: _flag("KANALVAKT_DEV_SIGNIN"))
    # Signs the session cookie. The local stack keeps one in .state/; required
    # in production.
    session_secret: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_SESSION_SECRET", "")
    )
    # Secure cookies: on unless turned off, and never off in production.
    cookie_secure: bool = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_COOKIE_SECURE", "1").strip().lower() not in {"0", "false", "no", "off"})
    session_max_age: int = field(default_factory=lambda: int(
        os.environ.get("KANALVAKT_SESSION_MAX_AGE", str(10 * 3600))))
    # OpenID Connect (Entra ID and the like): sign-in is offered when the
    # issuer and the client id are set.
    oidc_issuer: str = field(default_factory=lambda: os.environ.get("KANALVAKT_OIDC_ISSUER", ""))
    oidc_client_id: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_CLIENT_ID", ""))
    oidc_client_secret: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_CLIENT_SECRET", ""))
    # Where the provider sends the browser back: <public url>/auth/oidc/callback.
    oidc_redirect_url: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_REDIRECT_URL", ""))
    # ID-token claims tried in order; the first present names the person
    # (matched against the directory's e-mail address, then its person id).
    oidc_claims: tuple[str, ...] = field(default_factory=lambda: tuple(
        c.strip() for c in os.environ.get(
            "KANALVAKT_OIDC_CLAIMS", "preferred_username,email").split(",") if c.strip()))
    oidc_scopes: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_SCOPES", "openid profile email"))
    # Where the provider sends the browser after its sign-out (RP-Initiated
    # Logout; register it at the provider). Default: <origin of
    # KANALVAKT_OIDC_REDIRECT_URL>/signed-out, our own signed-out page.
    oidc_post_logout_redirect_url: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_POST_LOGOUT_REDIRECT_URL", ""))
    # Optional: the one municipality whose directory this provider signs in.
    oidc_municipality: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_OIDC_MUNICIPALITY", ""))

    # ---- payload encryption (codec.py, web/codec_api.py)
    # "id1:base64key,id0:base64key": the first encrypts, all decrypt. Required
    # in production; the local stack keeps one in .state/payload-keys.
    payload_keys: str = field(
        default_factory=lambda: os.environ.get("KANALVAKT_PAYLOAD_KEYS", ""))
    # The Temporal UI's origin, allowed (with credentials) to call /api/codec.
    codec_cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip().rstrip("/") for o in os.environ.get(
            "KANALVAKT_CODEC_CORS_ORIGINS", "http://localhost:8233").split(",") if o.strip()))

    # ---- the intake feeder (feeder.py, store/intake.py)
    # A failing row is tried again after base seconds, twice as long each
    # time up to cap, and parked after max attempts (`kanalvakt intake`).
    intake_max_attempts: int = field(default_factory=lambda: _int(
        "KANALVAKT_INTAKE_MAX_ATTEMPTS", 10, minimum=1))
    intake_retry_base_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_INTAKE_RETRY_BASE_SECONDS", 2.0))
    intake_retry_cap_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_INTAKE_RETRY_CAP_SECONDS", 900.0))

    # ---- notifications (issue 13): the outbox sender (outbox_sender.py) and
    # its mail relay (adapters/mail.py). The local stack runs an SMTP server
    # of its own on KANALVAKT_SMTP_PORT that saves mails under .state/mail/.
    smtp_host: str = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_SMTP_HOST", "localhost"))
    smtp_port: int = field(default_factory=lambda: _int("KANALVAKT_SMTP_PORT", 8025, minimum=1))
    # none | starttls | tls (implicit TLS, usually port 465)
    smtp_security: str = field(default_factory=lambda: _choice(
        "KANALVAKT_SMTP_SECURITY", "none", ("none", "starttls", "tls")))
    # A CA bundle (PEM) for the relay's certificate when an internal CA signed it.
    smtp_ca_file: str = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_SMTP_CA_FILE", ""))
    smtp_username: str = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_SMTP_USERNAME", ""))
    smtp_password: str = field(default_factory=lambda: _secret("KANALVAKT_SMTP_PASSWORD"))
    mail_from: str = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_MAIL_FROM", "kanalvakt@localhost"))
    smtp_timeout_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_SMTP_TIMEOUT_SECONDS", 30.0))
    # The intranet's address as people reach it: the links in mails start here.
    public_base_url: str = field(default_factory=lambda: os.environ.get(
        "KANALVAKT_PUBLIC_BASE_URL", "http://localhost:8000"))
    # A failed delivery is tried again after base seconds, twice as long each
    # time up to cap; after max attempts it is "failed" (`kanalvakt outbox`).
    outbox_max_attempts: int = field(default_factory=lambda: _int(
        "KANALVAKT_OUTBOX_MAX_ATTEMPTS", 8, minimum=1))
    outbox_retry_base_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_OUTBOX_RETRY_BASE_SECONDS", 30.0))
    outbox_retry_cap_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_OUTBOX_RETRY_CAP_SECONDS", 3600.0))
    # A sender holds the rows it took this long; one that dies frees them
    # then (longer than a slow relay's timeout).
    outbox_lease_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_OUTBOX_LEASE_SECONDS", 300.0))
    # How often the sender looks for work when idle.
    outbox_poll_seconds: float = field(default_factory=lambda: _float(
        "KANALVAKT_OUTBOX_POLL_SECONDS", 2.0))

    # ---- the web boundary (web/boundary.py): request bodies over these are
    # refused with 413 before they are read.
    # Forms and the JSON API.
    max_body_bytes: int = field(default_factory=lambda: _int(
        "KANALVAKT_MAX_BODY_BYTES", 1024 * 1024, minimum=1024))
    # Meta's webhook: 1000 updates at most per batch (web/boundary.py says how
    # this default follows from it).
    webhook_max_body_bytes: int = field(default_factory=lambda: _int(
        "KANALVAKT_WEBHOOK_MAX_BODY_BYTES", 16 * 1024 * 1024, minimum=1024))
    # Screenshot uploads (multipart): a 20 MB screenshot and its fields.
    upload_max_body_bytes: int = field(default_factory=lambda: _int(
        "KANALVAKT_UPLOAD_MAX_BODY_BYTES", 21 * 1024 * 1024, minimum=1024))

    @property
    def production(self) -> bool:
        return self.env.strip().lower() in {"production", "prod"}

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be more than 0, not {value}")
    return value


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in allowed:
        raise SystemExit(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _secret(name: str) -> str:
    """The value of NAME, or the contents of the file NAME_FILE names."""
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, "")


def load() -> Settings:
    return Settings()
