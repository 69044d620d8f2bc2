"""The architecture contracts are really checked (issue 11).

`python3 dev.py test` and CI ran `python -m importlinter.cli`, which only
imports import-linter's module and exits 0 having checked nothing (it has no
__main__ guard): a broken contract passed. deploy/check.py now runs the
command itself; these tests prove it passes on the tree and fails on a
contract the tree breaks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from deploy.check import CONTRACTS

ROOT = Path(__file__).resolve().parents[2]


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONTRACTS, "--no-cache", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_projects_contracts_are_checked_and_kept() -> None:
    done = _check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "web: app > pages" in done.stdout and "0 broken" in done.stdout


def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    web\n\n"
        "[importlinter:contract:app-below-deps]\n"
        "name = the app must not import its dependencies module (broken on purpose)\n"
        "type = forbidden\nsource_modules = web.app\nforbidden_modules = web.deps\n",
        encoding="utf-8")
    done = _check("--config", str(config))
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout
