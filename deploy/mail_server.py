"""The local stack's SMTP server (issue 13): a real SMTP server (aiosmtpd)
that keeps every mail it accepts as an .eml file in a folder, so a developer
reads what Kanalvakt sent (`.state/mail/` on the local stack; any mail
program opens .eml files).

    python -m deploy.mail_server --folder .state/mail --port 8025

It delivers nothing onwards. In production Kanalvakt talks to the
municipality's relay instead (KANALVAKT_SMTP_HOST and friends, README).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class EmlFolder:
    """An aiosmtpd handler: each accepted mail becomes `<time>-<n>.eml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        to = _UNSAFE.sub("_", ",".join(envelope.rcpt_tos))[:80]
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{self.count:05d}-{to}.eml"
        data = envelope.original_content or envelope.content
        (self.folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        return "250 Message accepted for delivery"


def start(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(EmlFolder(folder), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.mail_server")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    controller = start(args.folder, args.host, args.port)
    print(f"SMTP server on {args.host}:{args.port}, mails in {args.folder}", flush=True)

    async def wait() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
