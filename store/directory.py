"""The organisation directory in PostgreSQL (migrations/0002_directory.sql).

A municipality's directory is kept in a YAML file (deploy/directory/) and
loaded with `kanalvakt directory load`. Decisions are authorised against it
(R-01, R-13): `authorities()` is what an account workflow carries in its
state. Units and people that leave the file are deactivated, never deleted,
because earlier decisions name them.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from domain.crisis import CrisisPolicy
from domain.directory import (
    Authorities,
    Directory,
    Municipality,
    Person,
    Unit,
    reference_problems,
)
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy
from domain.records_plan import RecordsPlan


def parse_directory_yaml(text: str) -> Directory:
    """Parse and validate a directory file.

    Raises yaml.YAMLError for a file that is not YAML, and pydantic's
    ValidationError otherwise, each error with its field path (for a dangling
    reference too, e.g. `units.2.manager`)."""
    data = yaml.safe_load(text)
    try:
        return Directory.model_validate(data)
    except ValidationError as exc:
        # The domain's cross-reference check runs on the whole model, so its
        # errors carry no field path; the same rules, run on the file's data,
        # say where each problem stands (e.g. `units.2.manager`).
        located: list[InitErrorDetails] = []
        if _only_model_level(exc) and isinstance(data, dict):
            located = [
                {"type": PydanticCustomError("reference", p.message), "loc": p.loc,
                 "input": p.value}
                for p in reference_problems(data)
            ]
        if not located:
            raise
        raise ValidationError.from_exception_data(Directory.__name__, located) from exc


def _only_model_level(exc: ValidationError) -> bool:
    return all(not e["loc"] for e in exc.errors())


class LoadReport(BaseModel):
    """What a directory load changed."""

    model_config = ConfigDict(frozen=True)

    municipality_id: str
    municipality_added: bool
    units_added: int
    units_updated: int
    units_deactivated: int
    people_added: int
    people_updated: int
    people_deactivated: int

    def summary(self) -> str:
        return (
            f"{self.municipality_id}: "
            f"{'added' if self.municipality_added else 'updated'}; "
            f"units {self.units_added} added, {self.units_updated} updated, "
            f"{self.units_deactivated} deactivated; "
            f"people {self.people_added} added, {self.people_updated} updated, "
            f"{self.people_deactivated} deactivated"
        )


_UNIT_COLUMNS = ("municipality_id", "id", "name", "kind", "manager", "deputy", "web_page", "active",
                 "next_level")
_PERSON_COLUMNS = ("municipality_id", "id", "name", "email", "unit", "active")


def _unit_row(municipality_id: str, unit: Unit) -> tuple[Any, ...]:
    return (
        municipality_id,
        unit.id,
        unit.name,
        unit.kind.value,
        unit.manager,
        unit.deputy,
        unit.web_page,
        True,
        unit.next_level,
    )


def _person_row(municipality_id: str, person: Person) -> tuple[Any, ...]:
    return (municipality_id, person.id, person.name, person.email, person.unit, True)


def _unit(row: asyncpg.Record) -> Unit:
    return Unit(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        manager=row["manager"],
        deputy=row["deputy"],
        web_page=row["web_page"],
        next_level=row["next_level"],
    )


def _person(row: asyncpg.Record) -> Person:
    return Person(id=row["id"], name=row["name"], email=row["email"], unit=row["unit"])


def _municipality(row: asyncpg.Record) -> Municipality:
    return Municipality(
        id=row["id"],
        name=row["name"],
        country=row["country"],
        timezone=row["timezone"],
        diarium_prefix=row["diarium_prefix"],
        social_media_policy_url=row["social_media_policy_url"],
        lifecycle=LifecyclePolicy.model_validate(row["lifecycle_policy"] or {}),
        messages=MessagePolicy.model_validate(row["message_policy"] or {}),
        crisis=CrisisPolicy.model_validate(row.get("crisis_policy") or {}),
        records=RecordsPlan.model_validate(row.get("records_plan") or {}),
    )


class DirectoryRepository:
    """Loads directories and answers who may decide what."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self, directory: Directory) -> LoadReport:
        """Make the database hold `directory`, in one transaction.

        The municipality row is upserted first: its row lock serialises two
        loads of the same municipality."""
        m = directory.municipality
        async with self._pool.acquire() as conn, conn.transaction():
            known = await conn.fetchval("SELECT true FROM municipalities WHERE id = $1", m.id)
            await conn.execute(
                """
                INSERT INTO municipalities (id, name, country, timezone, diarium_prefix,
                    social_media_policy_url, communications_unit, lifecycle_policy,
                    message_policy, loaded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
                ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, country = excluded.country,
                    timezone = excluded.timezone, diarium_prefix = excluded.diarium_prefix,
                    social_media_policy_url = excluded.social_media_policy_url,
                    communications_unit = excluded.communications_unit,
                    lifecycle_policy = excluded.lifecycle_policy,
                    message_policy = excluded.message_policy,
                    loaded_at = excluded.loaded_at
                """,
                m.id,
                m.name,
                m.country.value,
                m.timezone,
                m.diarium_prefix,
                m.social_media_policy_url,
                directory.communications_unit,
                m.lifecycle.model_dump(exclude_defaults=True),
                m.messages.model_dump(mode="json", exclude_defaults=True),
            )
            units = await self._sync(
                conn,
                table="units",
                columns=_UNIT_COLUMNS,
                rows=[_unit_row(m.id, u) for u in directory.units],
                municipality_id=m.id,
            )
            people = await self._sync(
                conn,
                table="people",
                columns=_PERSON_COLUMNS,
                rows=[_person_row(m.id, p) for p in directory.people],
                municipality_id=m.id,
            )
            await conn.execute("DELETE FROM roles WHERE municipality_id = $1", m.id)
            await conn.executemany(
                "INSERT INTO roles (municipality_id, person_id, role) VALUES ($1, $2, $3)",
                [(m.id, who, "communications") for who in directory.communications_members]
                + [(m.id, who, "registrar") for who in directory.registrars]
                + [(m.id, who, "crisis_management") for who in directory.crisis_management],
            )
            # the crisis settings (migrations/0010_crisis.sql).
            await conn.execute("UPDATE municipalities SET crisis_policy = $2 WHERE id = $1",
                               m.id, m.crisis.model_dump(mode="json", exclude_defaults=True))
            # the register's disposal decision (migrations/0023).
            await conn.execute("UPDATE municipalities SET records_plan = $2 WHERE id = $1",
                               m.id, m.records.model_dump(mode="json", exclude_defaults=True))
        return LoadReport(
            municipality_id=m.id,
            municipality_added=not known,
            units_added=units[0],
            units_updated=units[1],
            units_deactivated=units[2],
            people_added=people[0],
            people_updated=people[1],
            people_deactivated=people[2],
        )

    @staticmethod
    async def _sync(
        conn: asyncpg.Connection,
        *,
        table: str,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        municipality_id: str,
    ) -> tuple[int, int, int]:
        """Upsert `rows` into `table` and deactivate the municipality's rows
        not among them; return (added, updated, deactivated)."""
        existing = {
            r["id"]: tuple(r.values())
            for r in await conn.fetch(
                f"SELECT {', '.join(columns)} FROM {table} WHERE municipality_id = $1",
                municipality_id,
            )
        }
        added = [row for row in rows if row[1] not in existing]
        updated = [row for row in rows if row[1] in existing and existing[row[1]] != row]
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        assignments = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        await conn.executemany(
            f"""INSERT INTO {table} ({", ".join(columns)}) VALUES ({placeholders})
                ON CONFLICT (municipality_id, id) DO UPDATE SET {assignments}""",
            added + updated,
        )
        deactivated = await conn.fetch(
            f"""UPDATE {table} SET active = false
                WHERE municipality_id = $1 AND active AND NOT (id = ANY($2::text[]))
                RETURNING id""",
            municipality_id,
            [row[1] for row in rows],
        )
        return len(added), len(updated), len(deactivated)

    async def authorities(self, municipality_id: str, unit_id: str) -> Authorities | None:
        """Who decides for an active unit's accounts (R-01, R-13), or None."""
        async with self._pool.acquire() as conn:
            unit = await conn.fetchrow(
                """SELECT u.manager, u.deputy, u.next_level, m.communications_unit
                   FROM units u JOIN municipalities m ON m.id = u.municipality_id
                   WHERE u.municipality_id = $1 AND u.id = $2 AND u.active""",
                municipality_id,
                unit_id,
            )
            if unit is None:
                return None
            roles = await self._active_roles(conn, municipality_id)
        return Authorities(
            municipality_id=municipality_id,
            unit_id=unit_id,
            manager=unit["manager"],
            deputy=unit["deputy"],
            next_level=unit["next_level"],
            communications_unit=unit["communications_unit"],
            communications=frozenset(roles.get("communications", ())),
            registrars=frozenset(roles.get("registrar", ())),
        )

    @staticmethod
    async def _active_roles(conn: asyncpg.Connection, municipality_id: str) -> dict[str, list[str]]:
        rows = await conn.fetch(
            """SELECT r.role, r.person_id FROM roles r
               JOIN people p ON p.municipality_id = r.municipality_id AND p.id = r.person_id
               WHERE r.municipality_id = $1 AND p.active
               ORDER BY r.role, r.person_id""",
            municipality_id,
        )
        roles: dict[str, list[str]] = {}
        for row in rows:
            roles.setdefault(row["role"], []).append(row["person_id"])
        return roles

    async def person(self, municipality_id: str, person_id: str) -> Person | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM people WHERE municipality_id = $1 AND id = $2 AND active",
            municipality_id,
            person_id,
        )
        return None if row is None else _person(row)

    async def people(self, municipality_id: str) -> list[Person]:
        rows = await self._pool.fetch(
            "SELECT * FROM people WHERE municipality_id = $1 AND active ORDER BY id",
            municipality_id,
        )
        return [_person(r) for r in rows]

    async def municipality(self, municipality_id: str) -> Municipality | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM municipalities WHERE id = $1", municipality_id
        )
        return None if row is None else _municipality(row)

    async def municipalities(self) -> list[Municipality]:
        rows = await self._pool.fetch("SELECT * FROM municipalities ORDER BY id")
        return [_municipality(r) for r in rows]

    async def units(self, municipality_id: str) -> list[Unit]:
        rows = await self._pool.fetch(
            "SELECT * FROM units WHERE municipality_id = $1 AND active ORDER BY id",
            municipality_id,
        )
        return [_unit(r) for r in rows]

    async def roles_of(self, municipality_id: str, person_id: str) -> set[str]:
        """'communications', 'registrar', and 'manager' for the manager or
        deputy of an active unit."""
        async with self._pool.acquire() as conn:
            roles = {
                r["role"]
                for r in await conn.fetch(
                    "SELECT role FROM roles WHERE municipality_id = $1 AND person_id = $2",
                    municipality_id,
                    person_id,
                )
            }
            manages = await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM units WHERE municipality_id = $1 AND active
                                  AND $2 IN (manager, deputy))""",
                municipality_id,
                person_id,
            )
        if manages:
            roles.add("manager")
        return roles

    async def directory(self, municipality_id: str) -> Directory | None:
        """The municipality's active directory, as the last load left it."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM municipalities WHERE id = $1", municipality_id)
            if row is None:
                return None
            units = await conn.fetch(
                "SELECT * FROM units WHERE municipality_id = $1 AND active ORDER BY id",
                municipality_id,
            )
            people = await conn.fetch(
                "SELECT * FROM people WHERE municipality_id = $1 AND active ORDER BY id",
                municipality_id,
            )
            roles = await self._active_roles(conn, municipality_id)
        return Directory(
            municipality=_municipality(row),
            units=tuple(_unit(u) for u in units),
            people=tuple(_person(p) for p in people),
            communications_unit=row["communications_unit"],
            communications_members=tuple(roles.get("communications", ())),
            registrars=tuple(roles.get("registrar", ())),
            crisis_management=tuple(roles.get("crisis_management", ())),
        )
