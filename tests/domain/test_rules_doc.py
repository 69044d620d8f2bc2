"""docs/rules.md against ../shared/REQUIREMENTS.md (issue 16): every rule
has a row (the seed's words, what Kanalvakt does, the setting, the tests)
and a test that names it, except the rules not yet built, listed here with
their open issue. The list only shrinks: a rule in it that gains a test
fails until it is taken off the list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

REQUIREMENTS = ROOT.parent / "shared" / "REQUIREMENTS.md"
RULES_DOC = ROOT / "docs" / "rules.md"
TESTS = ROOT / "tests"

# Rules with no test yet, each with the issue that builds it.
NOT_YET_BUILT: dict[str, str] = {}


def _requirement_ids() -> list[str]:
    if not REQUIREMENTS.exists():
        pytest.skip(f"{REQUIREMENTS} is absent: the shared folder is not beside the repository")
    return re.findall(r"\*\*(R-\d\d)\*\*", REQUIREMENTS.read_text(encoding="utf-8"))


def _rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in RULES_DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"R-\d\d", cells[0]):
            rows[cells[0]] = cells
    return rows


def _tests_naming(rule: str) -> list[Path]:
    pattern = re.compile(rf"\b{re.escape(rule)}\b")
    me = Path(__file__).resolve()
    return sorted(p for p in TESTS.rglob("test_*.py")
                  if p.resolve() != me and pattern.search(p.read_text(encoding="utf-8")))


def test_requirements_are_read() -> None:
    ids = _requirement_ids()
    assert ids[:3] == ["R-01", "R-02", "R-03"] and len(ids) == len(set(ids)) >= 53


def test_every_rule_has_a_row_with_the_seeds_words_what_is_done_and_its_tests() -> None:
    rows = _rows()
    missing = [r for r in _requirement_ids() if r not in rows]
    assert not missing, f"no row in docs/rules.md for {missing}"
    for rule, cells in rows.items():
        assert len(cells) == 5, f"{rule}: a row has five cells: {cells}"
        _, seed, does, setting, tests = cells
        assert '"' in seed or "(" in seed, f"{rule}: quote the seed's words"
        assert does and setting and tests, f"{rule}: every cell is filled"


def test_the_test_files_a_row_names_exist_and_name_its_rule() -> None:
    for rule, cells in _rows().items():
        for name in re.findall(r"`(tests/[^`]+\.py)`", cells[4]):
            path = ROOT / name
            assert path.exists(), f"{rule}: {name} does not exist"
            assert re.search(rf"\b{rule}\b", path.read_text(encoding="utf-8")), (
                f"{rule}: {name} does not name it")


@pytest.mark.parametrize("rule", [f"R-{n:02d}" for n in range(1, 54)])
def test_every_rule_has_a_test_that_names_it_unless_listed_as_not_yet_built(rule: str) -> None:
    if rule not in _requirement_ids():
        pytest.skip(f"{rule} is not in REQUIREMENTS.md")
    found = _tests_naming(rule)
    if rule in NOT_YET_BUILT:
        assert not found, (f"{rule} now has tests ({[str(p) for p in found]}): take it off "
                           "NOT_YET_BUILT and give it its row's tests")
        assert "not yet built" in _rows()[rule][4]
        return
    assert found, f"{rule} has no test that names it under tests/"
