"""Who may read what: one rule per read model (issue 11).

The rules take plain values: the account's state, the person, and what the
org directory says of the person (their roles in the municipality, whether
they work in the account's unit), fetched by the caller. The web app asks
these before it shows a page or answers the JSON API; the rules of who may
*decide* are the aggregates' own (domain.account, domain.message).

Messages hold personal data (R-21, R-29, docs/data-protection.md): read only
by those who handle them. The records (diarium, moderation and disposal
logs, R-28, R-35) are the registrars' and the communications unit's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from domain.account.state import AccountState
from domain.snapshot import ScreenshotPeople, may_end_screenshot_wait

COMMUNICATIONS = "communications"
REGISTRAR = "registrar"
CRISIS_MANAGEMENT = "crisis_management"

# The roles that read the records (diarium, moderation and disposal logs).
RECORDS_ROLES = frozenset({REGISTRAR, COMMUNICATIONS})
# Beside those who handle them, who reads an account's messages, and one case.
MESSAGE_ROLES = frozenset({COMMUNICATIONS})
CASE_ROLES = frozenset({COMMUNICATIONS, REGISTRAR})
# Sealed payloads in the Temporal UI (web/codec_api.py): a snapshot's and any
# other municipality scope; a crisis's as its digests.
SEALED_ROLES = frozenset({COMMUNICATIONS, REGISTRAR})
CRISIS_ROLES = frozenset({CRISIS_MANAGEMENT, COMMUNICATIONS})


def _managers(state: AccountState) -> set[str]:
    a = state.authorities
    return {p for p in (a.manager, a.deputy) if p}


def may_read_monitoring(state: AccountState, person: str, *, works_in_unit: bool) -> bool:
    """R-15..R-20: the account's admins, its unit (manager, deputy, and staff:
    `works_in_unit`, the directory's word) and the communications unit read
    its monitoring."""
    a = state.authorities
    return (person in state.admins or a.is_manager(person) or a.is_communications(person)
            or works_in_unit)


def may_take_snapshots(state: AccountState, person: str) -> bool:
    """R-37: the account's admins, its unit's manager or deputy and the
    communications unit list, take and upload snapshots."""
    return (person in state.admins or person in _managers(state)
            or state.authorities.is_communications(person))


def screenshot_people(state: AccountState) -> ScreenshotPeople:
    """R-37: who hears of the account's snapshot waiting for screenshots."""
    return ScreenshotPeople(admins=tuple(sorted(state.admins)),
                            managers=tuple(sorted(_managers(state))),
                            communications=tuple(sorted(state.authorities.communications)))


def may_end_wait(state: AccountState, person: str) -> bool:
    """R-37: the account's admins and the communications unit say its
    screenshots are uploaded (domain.snapshot.may_end_screenshot_wait)."""
    return may_end_screenshot_wait(screenshot_people(state), person)


def may_package_without_screenshots(state: AccountState, person: str) -> bool:
    """R-37, R-38: only the communications unit packages a snapshot without
    screenshots."""
    return state.authorities.is_communications(person)


def may_read_messages(state: AccountState | None, person: str, roles: Collection[str], *,
                      also: Iterable[str] = (), reader_roles: Collection[str] = MESSAGE_ROLES
                      ) -> bool:
    """R-21: an account's messages hold personal data: its admins, the unit's
    manager and deputy, `also` (a case's officer, its approvers) and people
    holding one of `reader_roles` (`roles`: the person's, from the directory)."""
    allowed = set(also)
    if state is not None:
        allowed |= set(state.admins) | _managers(state)
    return person in allowed or bool(set(reader_roles) & set(roles))


def may_read_case(account: AccountState | None, person: str, roles: Collection[str], *,
                  officer: str | None, approvers: Iterable[str] = ()) -> bool:
    """R-21, R-24, R-39: one case: its account's readers, the case's officer,
    crisis management while a reply waits for it, and the registrars."""
    also = ({officer} if officer else set()) | set(approvers)
    return may_read_messages(account, person, roles, also=also, reader_roles=CASE_ROLES)


def may_read_records(roles: Collection[str]) -> bool:
    """R-28, R-35: the diarium, the moderation and disposal logs: registrars
    and the communications unit of the municipality."""
    return bool(RECORDS_ROLES & set(roles))


def may_read_unit_report(unit_id: str, roles: Collection[str], manages: Collection[str]) -> bool:
    """R-42: a unit's response times and removals: its manager or deputy
    (`manages`: the units the directory names the person manager or deputy
    of) and the communications unit."""
    return COMMUNICATIONS in roles or unit_id in manages


def may_read_crisis(roles: Collection[str]) -> bool:
    """R-39, R-40: the crisis page, its digests and storm flags: crisis
    management and the communications unit."""
    return bool(CRISIS_ROLES & set(roles))


def may_open_sealed(scope: str, roles: Collection[str]) -> bool:
    """Issue 10: who sees a sealed payload of the municipality opened in the
    Temporal UI, by the kind of its scope ("crisis:..." as the crisis
    digests, any other as the snapshots). Accounts and message cases have
    their own rules (the municipality's people; may_read_case)."""
    wanted = CRISIS_ROLES if scope.startswith("crisis:") else SEALED_ROLES
    return bool(wanted & set(roles))


def may_read_consent(state: AccountState, person: str, roles: Collection[str]) -> bool:
    """R-41: a guardian's signed consent names a child: read by those who
    publish and answer for the account's posts (its admins, the unit's
    manager and deputy) and those who keep the records (the communications
    unit, the registrars); not by the unit's other staff, who see only that
    a consent is recorded."""
    return (person in state.admins or person in _managers(state)
            or state.authorities.is_communications(person) or may_read_records(roles))
