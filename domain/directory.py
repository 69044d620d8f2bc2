"""The organisation directory: municipalities, their units (förvaltningar,
bolag) with manager and deputy, the communications unit and the registrars.

Decisions are authorised against it (R-01, R-03, R-13). Pure models: loading
from YAML into PostgreSQL lives in activities/directory.py.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.policy import LifecyclePolicy


class Country(StrEnum):
    SE = "SE"
    NO = "NO"


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


class Municipality(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    country: Country
    timezone: str = "Europe/Stockholm"
    diarium_prefix: str = "KS"
    social_media_policy_url: str | None = None
    lifecycle: LifecyclePolicy = LifecyclePolicy()


class Directory(BaseModel):
    """One municipality's whole directory, as loaded from its YAML file."""

    model_config = ConfigDict(frozen=True)

    municipality: Municipality
    people: tuple[Person, ...]
    units: tuple[Unit, ...]
    communications_unit: str
    communications_members: tuple[str, ...] = Field(min_length=1)
    registrars: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Directory:
        people = {p.id for p in self.people}
        units = {u.id for u in self.units}
        problems: list[str] = []
        if len(people) != len(self.people):
            problems.append("a person id appears twice")
        if len(units) != len(self.units):
            problems.append("a unit id appears twice")
        for unit in self.units:
            for role, who in (("manager", unit.manager), ("deputy", unit.deputy)):
                if who is not None and who not in people:
                    problems.append(f"unit {unit.id}: {role} {who!r} is not a person here")
        for person in self.people:
            if person.unit is not None and person.unit not in units:
                problems.append(f"person {person.id}: unit {person.unit!r} does not exist")
        if self.communications_unit not in units:
            problems.append(f"communications_unit {self.communications_unit!r} is not a unit")
        for group, members in (
            ("communications_members", self.communications_members),
            ("registrars", self.registrars),
        ):
            for who in members:
                if who not in people:
                    problems.append(f"{group}: {who!r} is not a person here")
        if problems:
            raise ValueError("; ".join(problems))
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
            communications=frozenset(self.communications_members),
            registrars=frozenset(self.registrars),
        )


class Authorities(BaseModel):
    """Who may decide what for one unit's accounts, as of the directory's
    last load. Carried in the account workflow's state so an Update validator
    can reject an unauthorised decider without any I/O."""

    model_config = ConfigDict(frozen=True)

    municipality_id: str
    unit_id: str
    manager: str
    deputy: str | None = None
    communications: frozenset[str] = frozenset()
    registrars: frozenset[str] = frozenset()

    def is_manager(self, person: str) -> bool:
        """R-01/R-13: the unit's manager, or the deputy standing in."""
        return person == self.manager or (self.deputy is not None and person == self.deputy)

    def is_communications(self, person: str) -> bool:
        return person in self.communications
