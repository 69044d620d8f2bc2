"""The organisation directory: municipalities, their units (förvaltningar,
bolag) with manager and deputy, the communications unit and the registrars.

Decisions are authorised against it (R-01, R-03, R-13). Pure models: loading
from YAML into PostgreSQL lives in activities/directory.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from domain.country import Country
from domain.crisis import CrisisPolicy
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy
from domain.records_plan import RecordsPlan
from domain.snapshot import SnapshotPolicy

__all__ = ["Country"]  # re-exported: callers name it as the directory's


class UnitKind(StrEnum):
    ADMINISTRATION = "förvaltning"
    COMPANY = "bolag"
    OFFICE = "enhet"


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    unit: str | None = None


class Unit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind = UnitKind.ADMINISTRATION
    manager: str
    deputy: str | None = None
    web_page: str | None = None
    # who decides on the manager's own request (the next level: the
    # municipal director, the board's chair); None: the deputy may not, and
    # such a request waits for the directory to name one.
    next_level: str | None = None


class Municipality(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    country: Country
    timezone: str = "Europe/Stockholm"
    diarium_prefix: str = "KS"
    social_media_policy_url: str | None = None
    lifecycle: LifecyclePolicy = LifecyclePolicy()
    # the municipality's default for answering messages; an account may
    # set its own (office hours default to the account's monitoring hours).
    messages: MessagePolicy = MessagePolicy()
    # crisis deadlines, check-ins, digests, notice, storm flags.
    crisis: CrisisPolicy = CrisisPolicy()
    # when the accounts are snapshotted (mid-March and mid-October
    # by default); stored by kanalvakt directory load (activities/snapshot_store.py).
    snapshots: SnapshotPolicy = SnapshotPolicy()
    # the register's line in the records-management plan and its disposal decision.
    records: RecordsPlan = RecordsPlan()


class Directory(BaseModel):
    """One municipality's whole directory, as loaded from its YAML file."""

    model_config = ConfigDict(frozen=True)

    municipality: Municipality
    people: tuple[Person, ...]
    units: tuple[Unit, ...]
    communications_unit: str
    communications_members: tuple[str, ...] = Field(min_length=1)
    registrars: tuple[str, ...] = Field(min_length=1)
    crisis_management: tuple[str, ...] = ()  # krisledning, who switches crisis mode

    @model_validator(mode="after")
    def _references_resolve(self) -> Directory:
        problems = reference_problems(self.model_dump(mode="json"))
        if problems:
            raise ValueError("; ".join(f"{p.where}: {p.message}" for p in problems))
        return self

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def authorities(self, unit_id: str) -> Authorities:
        unit = self.unit(unit_id)
        if unit is None:
            raise KeyError(unit_id)
        return Authorities(
            municipality_id=self.municipality.id,
            unit_id=unit.id,
            manager=unit.manager,
            deputy=unit.deputy,
            next_level=unit.next_level,
            communications_unit=self.communications_unit,
            communications=frozenset(self.communications_members),
            registrars=frozenset(self.registrars),
        )


class ReferenceProblem(NamedTuple):
    loc: tuple[str | int, ...]
    value: Any
    message: str

    @property
    def where(self) -> str:
        return ".".join(str(part) for part in self.loc)


def reference_problems(data: Mapping[str, Any]) -> list[ReferenceProblem]:
    """Every id that appears twice and every reference to a person or unit
    that is not there, each at its place in the directory's plain data (as
    in its YAML file), so a person editing the file is told where."""
    found: list[ReferenceProblem] = []
    people_raw = list(data.get("people") or [])
    units_raw = list(data.get("units") or [])

    def ids(rows: list[Any], kind: str, section: str) -> set[Any]:
        seen: set[Any] = set()
        for i, row in enumerate(rows):
            key = row.get("id")
            if key in seen:
                found.append(ReferenceProblem((section, i, "id"), key,
                                              f"{kind} id {key!r} appears twice"))
            seen.add(key)
        return seen

    people = ids(people_raw, "person", "people")
    units = ids(units_raw, "unit", "units")
    for i, unit in enumerate(units_raw):
        for role in ("manager", "deputy", "next_level"):
            who = unit.get(role)
            if who is not None and who not in people:
                found.append(ReferenceProblem(("units", i, role), who,
                                              f"{who!r} is not a person in this directory"))
    for i, person in enumerate(people_raw):
        where = person.get("unit")
        if where is not None and where not in units:
            found.append(ReferenceProblem(("people", i, "unit"), where,
                                          f"unit {where!r} does not exist"))
    comms_unit = data.get("communications_unit")
    if comms_unit not in units:
        found.append(ReferenceProblem(("communications_unit",), comms_unit,
                                      f"{comms_unit!r} is not a unit"))
    for group in ("communications_members", "registrars", "crisis_management"):
        for i, who in enumerate(data.get(group) or []):
            if who not in people:
                found.append(ReferenceProblem((group, i), who,
                                              f"{who!r} is not a person in this directory"))
    return found


class Authorities(BaseModel):
    """Who may decide what for one unit's accounts, as of the directory's
    last load. Carried in the account workflow's state so an Update validator
    can reject an unauthorised decider without any I/O."""

    model_config = ConfigDict(frozen=True)

    municipality_id: str
    unit_id: str
    manager: str
    deputy: str | None = None
    next_level: str | None = None  # decides on the manager's own request
    communications_unit: str | None = None  # owns the main accounts
    communications: frozenset[str] = frozenset()
    registrars: frozenset[str] = frozenset()

    @field_serializer("communications", "registrars", when_used="json")
    def _sorted(self, people: frozenset[str]) -> list[str]:
        # In JSON (the read models, the workflow's payloads) a set is a list
        # in sorted order: a set's own order depends on the process's string
        # hashing and on the order its members were added, so a state folded
        # again from the record (a rebuild) could differ from the live one.
        return sorted(people)

    def is_manager(self, person: str) -> bool:
        """R-01/R-13: the unit's manager, or the deputy standing in."""
        return person == self.manager or (self.deputy is not None and person == self.deputy)

    def is_communications(self, person: str) -> bool:
        return person in self.communications


# --------------------------------------------------------------------------- people picker

PICKER_LIMIT = 20


class PersonChoice(BaseModel):
    """One person as the people picker shows them (issue 14): the id the
    form submits, the name and the unit's name."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    unit: str | None = None


def folded(text: str) -> str:
    """For matching as a person types: case and accents do not count
    ("ange" finds "Ängen", "OSTLUND" finds "Östlund")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def find_people(people: Iterable[Person], unit_names: Mapping[str, str], query: str,
                limit: int = PICKER_LIMIT) -> list[PersonChoice]:
    """The people whose name, unit or id holds every word of the query
    (case- and accent-insensitive), a name that starts with the query
    first, then by name; at most `limit`. An empty query finds nobody."""
    words = folded(query).split()
    if not words:
        return []
    found: list[tuple[int, str, PersonChoice]] = []
    for person in people:
        unit = unit_names.get(person.unit) if person.unit else None
        name = folded(person.name)
        haystack = " ".join((name, folded(unit or ""), folded(person.id)))
        if all(word in haystack for word in words):
            starts = any(part.startswith(words[0]) for part in name.split())
            found.append((0 if starts else 1, name,
                          PersonChoice(id=person.id, name=person.name, unit=unit)))
    found.sort(key=lambda row: (row[0], row[1], row[2].id))
    return [choice for _, _, choice in found[:limit]]
