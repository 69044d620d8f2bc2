"""The people picker's matching (issue 14, domain.directory.find_people):
a person is found by a part of the name, the unit or the id, whatever the
case and accents, those whose name starts with it first, at most 20."""

from __future__ import annotations

from domain.directory import PICKER_LIMIT, Person, PersonChoice, find_people, folded

UNITS = {"kultur": "Kulturförvaltningen", "skola": "Barn- och utbildningsförvaltningen"}
PEOPLE = [
    Person(id="elin.strand", name="Elin Strand", email="elin@x.se", unit="kultur"),
    Person(id="asa.ostlund", name="Åsa Östlund", email="asa@x.se", unit="skola"),
    Person(id="lars.elinsson", name="Lars Elinsson", email="lars@x.se", unit="skola"),
    Person(id="no.unit", name="Nora Utan", email="nora@x.se"),
]


def ids(query: str) -> list[str]:
    return [p.id for p in find_people(PEOPLE, UNITS, query)]


def test_folded_ignores_case_and_accents() -> None:
    assert folded("Åsa ÖSTLUND") == "asa ostlund"
    assert folded("Kulturförvaltningen") == folded("KULTURFORVALTNINGEN")


def test_a_part_of_the_name_finds_the_person_whatever_the_accents() -> None:
    assert ids("ostl") == ["asa.ostlund"]
    assert ids("ÅSA") == ["asa.ostlund"]
    assert ids("östlund åsa") == ["asa.ostlund"]  # every word, in any order


def test_the_unit_and_the_id_find_people_too() -> None:
    assert ids("kulturforv") == ["elin.strand"]
    assert ids("utbildning") == ["asa.ostlund", "lars.elinsson"]
    assert ids("lars.elin") == ["lars.elinsson"]


def test_a_name_that_starts_with_the_query_comes_first() -> None:
    # "elin" starts Elin Strand's name and is inside Lars Elinsson's: both,
    # the first name's match first.
    assert ids("elin") == ["elin.strand", "lars.elinsson"]


def test_the_choice_carries_name_and_unit_name_and_nothing_else() -> None:
    assert find_people(PEOPLE, UNITS, "nora") == [PersonChoice(id="no.unit", name="Nora Utan")]
    assert find_people(PEOPLE, UNITS, "elin str") == [
        PersonChoice(id="elin.strand", name="Elin Strand", unit="Kulturförvaltningen")]
    assert "email" not in PersonChoice.model_fields


def test_an_empty_query_finds_nobody_and_a_long_list_is_cut() -> None:
    assert ids("") == [] and ids("   ") == []
    many = [Person(id=f"p{i:02d}", name=f"Person {i:02d}", email="p@x.se") for i in range(30)]
    found = find_people(many, {}, "person")
    assert len(found) == PICKER_LIMIT == 20
    assert [p.id for p in found] == [f"p{i:02d}" for i in range(20)]


def test_authorities_people_are_written_in_sorted_order() -> None:
    """A set's own order depends on the process's string hashing and on the
    order its members were added; the read models compare a state folded
    again from the record with the live one (R-38: the registrars who get a
    closure's package), so the JSON lists them sorted, whatever the order."""
    from domain.directory import Authorities

    for order in (("birgitta.nord", "ali.karimi"), ("ali.karimi", "birgitta.nord")):
        a = Authorities(municipality_id="exempelby", unit_id="kultur", manager="anna.lind",
                        registrars=frozenset(order), communications=frozenset(reversed(order)))
        dumped = a.model_dump(mode="json")
        assert dumped["registrars"] == ["ali.karimi", "birgitta.nord"]
        assert dumped["communications"] == ["ali.karimi", "birgitta.nord"]
        assert Authorities.model_validate_json(a.model_dump_json()) == a
