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


def load() -> Settings:
    return Settings()
