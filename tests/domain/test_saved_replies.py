"""R-27 saved replies (who keeps them, what the case page offers) and R-36
the register's disposal decision as the directory YAML gives it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.core import NotAuthorised
from domain.records_plan import RecordsPlan, RegisterDisposal
from domain.saved_replies import (
    NewSavedReply,
    SavedReply,
    offered,
    official_recommendation,
    require_may_keep,
)
from store.directory import parse_directory_yaml
from tests.support import EXEMPELBY

COMMS = frozenset({"sofia.wallin"})


def _reply(title: str, language: str = "sv", account: str | None = None) -> SavedReply:
    return SavedReply(id=title, municipality_id="exempelby", account_id=account,
                      language=language, title=title, text=f"{title}.")  # type: ignore[arg-type]


def test_r27_the_official_recommendation_refers_political_questions_in_sv_and_nb() -> None:
    """R-27: "Henvis til kommunedirektørens innstilling": always offered, in the language."""
    sv = official_recommendation("exempelby", "sv")
    nb = official_recommendation("fjordvik", "nb")
    assert "kommundirektörens förslag" in sv.text.lower() and "debatten" in sv.text
    assert "kommunedirektørens innstilling" in nb.text.lower() and "debatten" in nb.text
    assert sv.official and nb.official and sv.id != nb.id


def test_r27_the_case_page_offers_the_accounts_then_the_municipalitys_then_the_official() -> None:
    """R-27: in the account's language only; the account's own first."""
    got = offered("exempelby", "sv",
                  [_reply("Konto", account="a-1"), _reply("Konto nb", "nb", "a-1")],
                  [_reply("Kommun"), _reply("Kommune", "nb")])
    assert [r.title for r in got] == ["Konto", "Kommun", official_recommendation(
        "exempelby", "sv").title]


def test_r27_who_keeps_saved_replies() -> None:
    """R-27: the communications unit keeps the municipality's; an account's
    admins (and the communications unit) keep the account's; no one else."""
    require_may_keep("municipality", "sofia.wallin", communications=COMMS)
    require_may_keep("account", "elin.strand", communications=COMMS,
                     admins=frozenset({"elin.strand"}))
    require_may_keep("account", "sofia.wallin", communications=COMMS)
    with pytest.raises(NotAuthorised) as refused:
        require_may_keep("municipality", "elin.strand", communications=COMMS,
                         admins=frozenset({"elin.strand"}))
    assert refused.value.key == "saved_reply.who_municipality"
    with pytest.raises(NotAuthorised):
        require_may_keep("account", "jonas.blom", communications=COMMS,
                         admins=frozenset({"elin.strand"}))


def test_r27_a_saved_reply_is_sv_or_nb_with_a_title_and_text() -> None:
    NewSavedReply(language="nb", title="Åpningstider", text="Se nettsiden.")
    for bad in ({"language": "en", "title": "t", "text": "x"},
                {"language": "sv", "title": " ", "text": "x"},
                {"language": "sv", "title": "t", "text": ""}):
        with pytest.raises(ValidationError):
            NewSavedReply.model_validate(bad)


def test_r36_the_register_is_kept_unless_the_plan_says_otherwise() -> None:
    """R-36: without a line in the YAML the stricter reading (kept) applies;
    a disposal names its years; the sample directories give their decisions."""
    assert RecordsPlan().channels.action == "keep"
    with pytest.raises(ValidationError):
        RegisterDisposal(action="dispose")
    with pytest.raises(ValidationError):
        RegisterDisposal(action="keep", dispose_after_years=5)
    exempelby = parse_directory_yaml(Path(EXEMPELBY).read_text(encoding="utf-8"))
    assert exempelby.municipality.records.channels.decision == "KS 2024/118"
    fjordvik = parse_directory_yaml(
        Path(EXEMPELBY).with_name("fjordvik.yaml").read_text(encoding="utf-8"))
    assert (fjordvik.municipality.records.channels.action,
            fjordvik.municipality.records.channels.dispose_after_years) == ("dispose", 10)


def test_r36_a_removed_entry_may_go_the_plans_years_after_it_left_the_register() -> None:
    """R-36: with "dispose after 10 years" an entry removed on 29 February
    2028 may go on 28 February 2038; while listed, or where the register is
    kept, never."""
    plan = RegisterDisposal(action="dispose", dispose_after_years=10, decision="2023/1457")
    assert plan.dispose_from(date(2028, 2, 29)) == date(2038, 2, 28)
    assert plan.dispose_from(date(2026, 12, 6)) == date(2036, 12, 6)
    assert plan.dispose_from(None) is None
    assert RegisterDisposal().dispose_from(date(2026, 12, 6)) is None
