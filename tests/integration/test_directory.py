"""The organisation directory: YAML files in deploy/directory/, loaded into
PostgreSQL, read back by the activities that authorise decisions."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from pydantic import ValidationError

import cli
from domain.directory import Country, Directory
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent, RecordedEvent

ROOT = Path(__file__).resolve().parents[2]
EXEMPELBY = ROOT / "deploy" / "directory" / "exempelby.yaml"
FJORDVIK = ROOT / "deploy" / "directory" / "fjordvik.yaml"


def exempelby() -> Directory:
    return parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))


def without_unit(directory: Directory, unit_id: str) -> Directory:
    """The directory after a reorganisation: the unit and its people are gone."""
    gone = {p.id for p in directory.people if p.unit == unit_id}
    return directory.model_copy(
        update={
            "units": tuple(u for u in directory.units if u.id != unit_id),
            "people": tuple(p for p in directory.people if p.id not in gone),
        }
    )


async def table_contents(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    contents = {}
    for table in ("municipalities", "units", "people", "roles"):
        rows = await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")
        contents[table] = [tuple(r.values()) for r in rows]
    return contents


async def run_cli(*argv: str) -> int:
    """`kanalvakt ...` in a thread: it runs its own event loop, as it does from a shell."""
    return await asyncio.to_thread(cli.main, list(argv))


# --- the files in deploy/directory ------------------------------------------


def test_the_shipped_directories_parse() -> None:
    se = exempelby()
    assert se.municipality.country is Country.SE
    assert se.municipality.timezone == "Europe/Stockholm"
    assert {"kultur", "utbildning", "kommunikation", "social"} <= {u.id for u in se.units}
    assert se.communications_unit == "kommunikation"
    assert len(se.communications_members) == 3 and len(se.registrars) == 2

    no = parse_directory_yaml(FJORDVIK.read_text(encoding="utf-8"))
    assert no.municipality.country is Country.NO  # the quoted "NO", not YAML's false
    assert no.municipality.timezone == "Europe/Oslo"
    assert no.communications_unit == "kommunikasjon"


async def test_load_both_municipalities(pool: asyncpg.Pool) -> None:
    repo = DirectoryRepository(pool)
    se = exempelby()
    no = parse_directory_yaml(FJORDVIK.read_text(encoding="utf-8"))

    first = await repo.load(se)
    await repo.load(no)

    assert first.municipality_added
    assert (first.units_added, first.people_added) == (len(se.units), len(se.people))
    assert (first.units_updated, first.units_deactivated, first.people_deactivated) == (0, 0, 0)
    assert [m.id for m in await repo.municipalities()] == ["exempelby", "fjordvik"]
    assert await repo.municipality("exempelby") == se.municipality
    assert await repo.municipality("nowhere") is None
    assert {u.id for u in await repo.units("fjordvik")} == {u.id for u in no.units}
    assert (
        await repo.person("exempelby", "anna.lind")
        == se.people[[p.id for p in se.people].index("anna.lind")]
    )
    assert await repo.person("fjordvik", "anna.lind") is None  # directories don't mix
    # What was loaded reads back as the same directory.
    stored = await repo.directory("exempelby")
    assert stored is not None
    assert set(stored.units) == set(se.units) and set(stored.people) == set(se.people)
    assert set(stored.communications_members) == set(se.communications_members)
    assert set(stored.registrars) == set(se.registrars)


async def test_reloading_the_same_file_changes_nothing(pool: asyncpg.Pool) -> None:
    repo = DirectoryRepository(pool)
    await repo.load(exempelby())
    before = await table_contents(pool)

    again = await repo.load(exempelby())

    assert not again.municipality_added
    counts = again.model_dump(exclude={"municipality_id", "municipality_added"})
    assert set(counts.values()) == {0}
    after = await table_contents(pool)
    after["municipalities"] = before["municipalities"] = []  # loaded_at moves on
    assert after == before


async def test_a_unit_gone_from_the_file_is_deactivated_not_deleted(pool: asyncpg.Pool) -> None:
    """Old decisions name the unit and its manager, so the rows stay."""
    repo = DirectoryRepository(pool)
    full = exempelby()
    await repo.load(full)

    report = await repo.load(without_unit(full, "social"))

    assert (report.units_deactivated, report.people_deactivated) == (1, 3)
    assert (report.units_added, report.units_updated) == (0, 0)
    assert "social" not in {u.id for u in await repo.units("exempelby")}
    assert await repo.authorities("exempelby", "social") is None
    assert await repo.person("exempelby", "lena.dahl") is None
    assert await repo.roles_of("exempelby", "lena.dahl") == set()
    kept = await pool.fetchrow(
        "SELECT manager, active FROM units WHERE municipality_id = 'exempelby' AND id = 'social'"
    )
    assert dict(kept) == {"manager": "lena.dahl", "active": False}
    assert await pool.fetchval("SELECT count(*) FROM people WHERE NOT active") == 3

    # The unit comes back after the next reorganisation: reactivated, counted as updated.
    back = await repo.load(full)
    assert (back.units_updated, back.people_updated, back.units_added) == (1, 3, 0)
    assert await repo.authorities("exempelby", "social") is not None


async def test_changes_in_the_file_are_counted_and_stored(pool: asyncpg.Pool) -> None:
    repo = DirectoryRepository(pool)
    full = exempelby()
    await repo.load(full)
    kultur = full.unit("kultur")
    assert kultur is not None
    changed = full.model_copy(
        update={
            "units": tuple(
                u.model_copy(update={"manager": "elin.strand", "deputy": "anna.lind"})
                if u.id == "kultur"
                else u
                for u in full.units
            ),
        }
    )

    report = await repo.load(changed)

    assert (report.units_updated, report.people_updated) == (1, 0)
    authorities = await repo.authorities("exempelby", "kultur")
    assert authorities is not None
    assert (authorities.manager, authorities.deputy) == ("elin.strand", "anna.lind")


async def test_authorities_name_the_units_manager_deputy_comms_and_registrars(
    pool: asyncpg.Pool,
) -> None:
    """R-01, R-13: a unit's account is approved by its manager, or by the
    deputy standing in; nobody else in the municipality may."""
    repo = DirectoryRepository(pool)
    await repo.load(exempelby())

    authorities = await repo.authorities("exempelby", "kultur")

    assert authorities is not None
    assert (authorities.municipality_id, authorities.unit_id) == ("exempelby", "kultur")
    assert (authorities.manager, authorities.deputy) == ("anna.lind", "johan.berg")
    assert authorities.communications == {"erik.sjoberg", "sofia.wallin", "ahmed.yusuf"}
    assert authorities.registrars == {"birgitta.nord", "ali.karimi"}
    assert authorities.is_manager("anna.lind") and authorities.is_manager("johan.berg")
    assert not authorities.is_manager("elin.strand")  # works there, doesn't decide
    assert not authorities.is_manager("maria.ek")  # another unit's manager
    assert authorities.is_communications("sofia.wallin")
    # The directory in the database says what the file says.
    assert authorities == exempelby().authorities("kultur")

    company = await repo.authorities("exempelby", "energi")
    assert company is not None and (company.manager, company.deputy) == ("mats.forsberg", None)
    assert await repo.authorities("exempelby", "no-such-unit") is None
    assert await repo.authorities("fjordvik", "kultur") is None


async def test_roles_of_a_person(pool: asyncpg.Pool) -> None:
    repo = DirectoryRepository(pool)
    await repo.load(exempelby())

    assert await repo.roles_of("exempelby", "anna.lind") == {"manager"}
    assert await repo.roles_of("exempelby", "johan.berg") == {"manager"}  # deputy
    assert await repo.roles_of("exempelby", "erik.sjoberg") == {"manager", "communications"}
    assert await repo.roles_of("exempelby", "birgitta.nord") == {"manager", "registrar"}
    assert await repo.roles_of("exempelby", "ali.karimi") == {"registrar"}
    assert await repo.roles_of("exempelby", "elin.strand") == set()


# --- bad files --------------------------------------------------------------


def test_an_unknown_manager_is_reported_at_its_field_path() -> None:
    text = EXEMPELBY.read_text(encoding="utf-8").replace("manager: maria.ek", "manager: maria.ekk")
    with pytest.raises(ValidationError) as caught:
        parse_directory_yaml(text)
    [error] = caught.value.errors()
    assert error["loc"] == ("units", 3, "manager")
    assert "maria.ekk" in error["msg"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("manager: maria.ek", "manager: maria.ekk"),
            "units.3.manager: 'maria.ekk' is not a person",
        ),
        (("    name: Socialförvaltningen\n", ""), "units.4.name: Field required"),
        (("country: SE", "country: DK"), "municipality.country: Input should be"),
        (("registrars: [birgitta.nord, ali.karimi]", "registrars: []"), "registrars: "),
        (("units:\n", "units:\n  - [\n"), "line "),  # not YAML at all
    ],
)
async def test_a_bad_file_exits_2_with_field_paths_and_writes_nothing(
    pool: asyncpg.Pool,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    expected: str,
) -> None:
    await DirectoryRepository(pool).load(parse_directory_yaml(FJORDVIK.read_text(encoding="utf-8")))
    before = await table_contents(pool)
    text = EXEMPELBY.read_text(encoding="utf-8")
    assert change[0] in text
    bad = tmp_path / "exempelby.yaml"
    bad.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")

    code = await run_cli("--database-url", database_url, "directory", "load", str(bad))

    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}: {expected}" in err, err
    assert await table_contents(pool) == before


# --- the command line -------------------------------------------------------


async def test_cli_loads_and_shows_a_directory(
    pool: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli("--database-url", database_url, "directory", "load", str(EXEMPELBY))
    assert code == 0
    out = capsys.readouterr().out
    assert "exempelby: added; units 7 added" in out

    code = await run_cli("--database-url", database_url, "directory", "show", "exempelby")
    assert code == 0
    out = capsys.readouterr().out
    assert "Exempelby kommun" in out
    assert "kultur: Kultur- och fritidsförvaltningen" in out
    assert "manager: Anna Lind (anna.lind)" in out
    assert "deputy:  Johan Berg (johan.berg)" in out
    assert "Registrars: Ali Karimi (ali.karimi), Birgitta Nord (birgitta.nord)" in out

    assert await run_cli("--database-url", database_url, "directory", "show", "nowhere") == 1


async def test_load_directory_file_for_the_stack_and_tests(database_url: str) -> None:
    report = await cli.load_directory_file(database_url, FJORDVIK)
    assert (report.municipality_id, report.units_added) == ("fjordvik", 3)


async def test_cli_needs_a_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert await run_cli("migrate") == 2
    assert "--database-url or set DATABASE_URL" in capsys.readouterr().err


def test_cli_migrate_from_a_shell_with_database_url(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout  # the test database was copied from a migrated one


class EventLog:
    """A stand-in read model: one row per event."""

    tables = ("test_event_log",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await conn.execute(
            "INSERT INTO test_event_log (position, type) VALUES ($1, $2)",
            event.global_position,
            event.event_type,
        )


async def test_rebuild_read_models_uses_the_apps_projections(
    pool: asyncpg.Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command rebuilds whatever store.projections.all_projections()
    lists; here a stand-in list of one projection."""
    await pool.execute("CREATE TABLE test_event_log (position bigint PRIMARY KEY, type text)")
    store = EventStore(pool, [EventLog()])
    at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    for i in range(3):
        batch = [NewEvent(event_id=uuid4(), event_type=f"E{i}", data={}, occurred_at=at)]
        await store.append(f"s{i}", 0, batch, f"k{i}")
    live = await pool.fetch("SELECT * FROM test_event_log ORDER BY position")
    await pool.execute("DELETE FROM test_event_log WHERE type = 'E1'")  # drifted
    monkeypatch.setattr(cli, "all_projections", lambda: [EventLog()])

    code = await run_cli("--database-url", database_url, "rebuild-read-models")

    assert code == 0
    assert "replayed 3 events" in capsys.readouterr().out
    assert await pool.fetch("SELECT * FROM test_event_log ORDER BY position") == live


async def test_r43_lifecycle_deadlines_are_a_setting_per_municipality(
    pool: asyncpg.Pool,
) -> None:
    """R-43: where the guidelines differ, the rule is a per-municipality setting:
    Fjordvik's own reminder and escalation steps survive a load; Exempelby,
    which sets none, gets the defaults."""
    from domain.policy import LifecyclePolicy

    repo = DirectoryRepository(pool)
    for name in ("fjordvik.yaml", "exempelby.yaml"):
        text = (ROOT / "deploy" / "directory" / name).read_text(encoding="utf-8")
        await repo.load(parse_directory_yaml(text))
    fjordvik = await repo.municipality("fjordvik")
    exempelby = await repo.municipality("exempelby")
    assert fjordvik is not None and exempelby is not None
    assert fjordvik.lifecycle.manager_reminder_days == 3
    assert fjordvik.lifecycle.manager_escalation_days == 7
    assert fjordvik.lifecycle.manager_lapse_days == LifecyclePolicy().manager_lapse_days
    assert exempelby.lifecycle == LifecyclePolicy()
    # Fjordvik signs its replies by default; Exempelby leaves it optional.
    assert fjordvik.messages.signature == "required"
    assert exempelby.messages.signature == "optional"
