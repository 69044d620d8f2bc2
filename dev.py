#!/usr/bin/env python3
"""Kanalvakt's two everyday commands, runnable with nothing but Python 3.11+.

    python3 dev.py stack        bring up the whole local stack (Ctrl-C stops it)
    python3 dev.py test [...]   run the test suite (extra arguments go to pytest)
    python3 dev.py cli  [...]   the `kanalvakt` command line (directory load, rebuild, ...)

Each creates or refreshes a virtual environment in `.venv/` from pyproject.toml
first. Only the standard library is used here, so this runs before anything
is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".kanalvakt-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def _wanted_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project (editable, with dev extras) when
    pyproject.toml changed since the last install."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the venv exists
        sys.exit("Kanalvakt needs Python 3.11 or newer.")
    if not PY.exists():
        _say(f"creating a virtual environment in {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _wanted_stamp()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    _say("installing Kanalvakt and its dependencies into .venv (once per pyproject change)")
    subprocess.run(
        [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", f"{ROOT}[dev,local]"],
        check=True,
    )
    STAMP.write_text(wanted)
    _say("installed")


def ensure_chromium() -> None:
    """Snapshots (PDF/PNG of an account) and the browser tests use Debian's
    chromium, never a browser download. Install it with apt when missing and
    we may (root on Debian); otherwise say how, and go on: the stack runs
    without it (snapshots then fail with a clear error and are retried), the
    browser tests are skipped outside CI."""
    if os.environ.get("KANALVAKT_CHROMIUM") or shutil.which("chromium") \
            or shutil.which("chromium-browser"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _say("installing Debian's chromium (snapshots and browser tests need it)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "chromium", "chromium-l10n", "fonts-dejavu-core"], check=True, env=env)
        return
    _say("chromium is not installed: snapshots and browser tests need it (sudo apt-get "
         "install chromium chromium-l10n fonts-dejavu-core, or set KANALVAKT_CHROMIUM)")


def _exec(argv: list[str]) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The workflow sandbox imports the workflow modules for every workflow
    # instance, compiling them from source where bytecode may not be written
    # (a fifth of the worker's CPU, docs/benchmarks.md). Where the
    # environment forbids bytecode, it goes into the virtual environment.
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env.setdefault("PYTHONPYCACHEPREFIX", str(VENV / "pycache"))
    os.chdir(ROOT)
    os.execve(argv[0], argv, env)


def main(args: list[str]) -> None:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, rest = args[0], args[1:]
    if command not in {"stack", "test", "cli"}:
        sys.exit(f"unknown command {command!r}; try: python3 dev.py --help")
    ensure_venv()
    if command in {"stack", "test"}:
        ensure_chromium()
    if command == "stack":
        _exec([str(PY), "-m", "deploy.stack", *rest])
    elif command == "test":
        _exec([str(PY), "-m", "deploy.check", *rest])
    else:
        _exec([str(PY), "-m", "cli", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
