"""The test command behind `python3 dev.py test`: ruff, mypy, the
architecture contracts (import-linter), then pytest. Extra arguments go to pytest."""

from __future__ import annotations

import subprocess
import sys

# import-linter's command. Not `python -m importlinter.cli`: that module has
# no __main__ block, so it exits 0 having checked nothing.
CONTRACTS = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
             "lint_imports_command()", "--no-cache"]


def main(argv: list[str]) -> int:
    print("[test] lint (ruff check)", flush=True)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."])
    if lint.returncode != 0:
        return lint.returncode
    print("[test] types (mypy)", flush=True)
    types = subprocess.run([sys.executable, "-m", "mypy"])
    if types.returncode != 0:
        return types.returncode
    print("[test] import contracts (lint-imports)", flush=True)
    contracts = subprocess.run(CONTRACTS)
    if contracts.returncode != 0:
        return contracts.returncode
    print("[test] pytest", flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", *argv]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
