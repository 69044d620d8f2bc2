"""Shared test material: the sample directory's people, a valid request, and
the Temporal server binaries the project installs (nothing is downloaded)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHistory

from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TEST_SERVER = str(BIN / "temporal-test-server")
DEV_SERVER = str(BIN / "temporal")
EXEMPELBY = ROOT / "deploy" / "directory" / "exempelby.yaml"

# People of deploy/directory/exempelby.yaml
MANAGER = "anna.lind"  # kultur's förvaltningschef
DEPUTY = "johan.berg"
REQUESTER = "elin.strand"  # works in kultur
COMMS = "sofia.wallin"  # communications unit member
COMMS_2 = "ahmed.yusuf"
OUTSIDER = "jonas.blom"  # samhällsbyggnad, no say over kultur
REGISTRARS = ["ali.karimi", "birgitta.nord"]


# R-51: every routine delegated with an account.
ALL_ROUTINES = ["crisis_communication", "registration", "disposal", "archiving",
                "unsuitable_or_confidential_posts"]

HISTORIES = ROOT / "tests" / "histories"

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool] = bool,
                     seconds: float = 15) -> T:
    """Poll `probe` until `ok` says yes or `seconds` pass; the last value is
    returned for the caller to assert on. What a workflow records is written
    first and folded into its state after (the record leads), and projections,
    notifications and visibility follow later still: wait for the thing the
    test goes on to assert, never for an earlier sign of it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        value = await probe()
        if ok(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.05)


def keep_history(history: WorkflowHistory, name: str) -> None:
    """With KANALVAKT_RECORD_HISTORIES=1, save the history for the replay test
    (tests/workflows/test_replay.py). Re-record only for a deliberate change
    that old histories need not survive; otherwise use workflow.patched."""
    if os.environ.get("KANALVAKT_RECORD_HISTORIES"):
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


def request_fields(**overrides: Any) -> dict[str, Any]:
    """A complete R-02 request from the culture unit."""
    fields: dict[str, Any] = {
        "unit_id": "kultur",
        "platform": "instagram",
        "account_name": "Kulturhuset Ängen",
        "purpose": "Visa programmet och svara på frågor om kulturhusets verksamhet.",
        "target_audience": "Unga vuxna i Exempelby",
        "goals": "Fler besökare under 30 år; svar inom ett dygn",
        "message": "Kulturhuset är ditt vardagsrum",
        "dialogue_wanted": True,
        "resources": "Två kommunikatörer, fyra timmar i veckan vardera",
        "hours_per_week": 8,
        "channel_rationale": "Målgruppen finns på Instagram, inte på Facebook",
        "proposed_admins": [REQUESTER, DEPUTY],
        "contact_email": "kulturhuset@exempelby.se",
        "monitoring_hours": {"opens": "08:00:00", "closes": "16:30:00"},
        "routines": ALL_ROUTINES,  # R-51
    }
    fields.update(overrides)
    return fields


def full_checklist() -> dict[str, Any]:
    """Everything the communications unit checks before approving (R-05..R-11)."""
    return {
        "profile_names_municipality": True,
        "profile_text": ("Kulturhuset Ängen är en verksamhet inom Exempelby kommun. Vi svarar "
                         "vardagar 08.00–16.30. Inlägg som bryter mot reglerna tas bort."),
        "profile_links": ["https://www.exempelby.se/kultur-och-fritid",
                          "https://www.exempelby.se/styrdokument/riktlinjer-for-sociala-medier"],
        "profile_states_purpose_and_rules": True,
        "provider_identity_and_visibility_shown": True,
        "terms_read_and_accepted_by": MANAGER,
        "public_channel": True,
        "unit_web_page_updated": True,
        "municipality_has_login_access": True,
        "communication_plan_checked": True,  # R-03
        "routines_checked": True,  # R-51
    }


def assessment(kind: str, on: date) -> dict[str, Any]:
    return {"kind": kind, "document_ref": f"KS 2026/{'0042' if kind == 'ros' else '0043'}",
            "completed_on": on.isoformat(), "completed_by": MANAGER}


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server knows no custom search attributes until told."""
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
        "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    }
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={k.name: kinds[k.indexed_value_type.name] for k in sa.ALL},
    ))


def activation_steps(platform_account_id: str | None, today: date
                     ) -> list[tuple[str, str, dict[str, Any]]]:
    """The JSON API steps that take a requested account to active (path,
    actor, body): approve (R-01, R-52), both assessments (R-04), sign-off
    (R-03), activate with two admins with 2FA (R-12). Shared by the e2e
    tests and the benchmarks, so a new rule of the lifecycle reaches both."""
    return [
        ("approve", MANAGER, {"admins_equipped": True}),
        ("risk-assessments", REQUESTER, assessment("ros", today)),
        ("risk-assessments", REQUESTER, assessment("dpia", today)),
        ("sign-off", COMMS, {"decision": "approve", "checklist": full_checklist()}),
        ("activate", COMMS, {"handle": "@kulturhusetangen",
                             "url": "https://www.facebook.com/kulturhusetangen",
                             "platform_account_id": platform_account_id,
                             "admins": [{"person": REQUESTER, "two_factor": True},
                                        {"person": "johan.berg", "two_factor": True}]}),
    ]


async def tables_holding(pool: asyncpg.Pool, needle: str) -> list[str]:
    """table.column of every column in the database whose value holds `needle`."""
    columns = await pool.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public'""")
    hits = []
    for c in columns:
        column = f'"{c["column_name"]}"'
        where = (f"position(convert_to($1, 'UTF8') in {column}) > 0" if c["data_type"] == "bytea"
                 else f"position($1 in {column}::text) > 0")
        if await pool.fetchval(f'SELECT count(*) FROM "{c["table_name"]}" WHERE {where}', needle):
            hits.append(f"{c['table_name']}.{c['column_name']}")
    return hits


# The sign-off checklist's labels as the page shows them (R-08, R-09, R-10,
# R-06, R-03, R-51), their rule ids behind "Varför?".
SIGN_OFF_CHECKLIST = (
    "Profilen visar tydligt att kommunen är avsändare",
    "Profilen anger syfte, regler och bevakningstider",
    "Uppgift om vem som driver kontot och synlighet visas",
    "Verksamhetens webbsida är uppdaterad",
    "Kommunen har tillgång till inloggningen",
    "Kommunikationsplanen är kvalitetsgranskad",
    "De delegerade rutinerna finns på plats",
)
