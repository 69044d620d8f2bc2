"""`python3 dev.py test` (deploy/check.py) checks the import contracts for
real (issue 11, item 5): its step once ran `python -m importlinter.cli`,
which has no __main__ block and so exited 0 having checked nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from deploy.check import CONTRACTS
from tests.support import ROOT


def _run(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONTRACTS, *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_contract_step_checks_the_contracts() -> None:
    kept = _run()
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "Contracts:" in kept.stdout and "kept, 0 broken." in kept.stdout
    assert "layers: web, workflows, activities" in kept.stdout


def test_the_contract_step_fails_on_a_broken_contract(tmp_path: Path) -> None:
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    web\n    texts\n\n"
        "[importlinter:contract:web-without-texts]\n"
        "name = web does not import texts (it does: web/i18n.py)\n"
        "type = forbidden\nsource_modules =\n    web\nforbidden_modules =\n    texts\n",
        encoding="utf-8")
    broken = _run("--config", str(config))
    assert broken.returncode != 0, broken.stdout
    assert "BROKEN" in broken.stdout
