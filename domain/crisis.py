"""Crisis mode (R-39) and storms of criticism (R-40), as pure decide/evolve
functions for the municipality's CrisisWorkflow.

Crisis management (krisledning, a role list in the directory) switches the
whole municipality or chosen units into crisis mode and back, on the record
(stream `crisis:<municipality>`). While in crisis mode:

- answer deadlines of open and new messages tighten to `answer_within`,
  counted around the clock (domain.message.answer_due);
- accounts are checked every `checkin_every`, around the clock
  (domain.crisis_mode.checkin_interval);
- accounts show the crisis notice, which points to the website and phone
  (the website and phone come first);
- messages are tagged for crisis management, and a digest of questions and
  moods is compiled for them every `digest_every`.

A storm of criticism on an account (screening's `storm_signal`: enough
messages in a window, enough of them critical) is flagged to the
communications unit once, then not again until its cool-down has passed.

The settings are per municipality (R-43), in its directory YAML under
`municipality.crisis`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from domain.core import DomainError, NotAuthorised, RuleViolation, WrongStage
from domain.crisis_mode import CrisisMode, CrisisStatus, StormFlag
from domain.screening import (
    RecentMessage,
    StormPolicy,
    StormSignal,
    WindowCounts,
    storm_signal,
    storm_signal_of,
)
from domain.text import CleanStrings

__all__ = ["CrisisMode", "CrisisStatus", "StormFlag"]

STREAM_PREFIX = "crisis:"
SYSTEM = "kanalvakt"

DEFAULT_NOTICE = (
    "Kommunen arbetar i krisläge. Aktuell information finns på {website}. "
    "Frågor besvaras på telefon {phone}."
)
# R-39, issue 16: the default notice is in the account's language (bokmål on
# a Norwegian municipality's accounts), and a crisis does not wait for
# settings: without a configured website or phone it points to the
# municipality's own website and switchboard, and says so (CrisisDeclared).
DEFAULT_NOTICES = {
    "SE": DEFAULT_NOTICE,
    "NO": ("Kommunen er i beredskap. Oppdatert informasjon finner du på {website}. "
           "Spørsmål besvares på telefon {phone}."),
}
FALLBACK_PHONE = {"SE": "kommunens växel", "NO": "kommunens sentralbord"}
FALLBACK_WEBSITE = {"SE": "kommunens webbplats", "NO": "kommunens nettsted"}

HttpsUrl = Annotated[str, Field(pattern=r"^https://\S+$", max_length=500)]
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{3,24}$")]


def workflow_id_for(municipality_id: str) -> str:
    """The crisis workflow's id and its event stream: one per municipality."""
    return f"{STREAM_PREFIX}{municipality_id}"


# --------------------------------------------------------------------------- errors
# The crisis rules refuse with the domain's one family (domain.core).
# `CrisisError` stays as a name for the family's base: the crisis workflow and
# the feeder catch it.

CrisisError = DomainError


# --------------------------------------------------------------------------- settings


class CrisisPolicy(BaseModel):
    """A municipality's crisis settings (R-39, R-40, R-43). The defaults are
    the stricter readings: answers within two hours and a check-in every two
    hours around the clock, a digest every hour."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer_within: timedelta = Field(timedelta(hours=2), gt=timedelta(0),
                                     le=timedelta(days=2))
    checkin_every: timedelta = Field(timedelta(hours=2), gt=timedelta(0),
                                     le=timedelta(days=1))
    digest_every: timedelta = Field(timedelta(hours=1), ge=timedelta(minutes=5),
                                    le=timedelta(days=1))
    website: HttpsUrl | None = None
    phone: PhoneNumber | None = None
    # None: the default notice in the municipality's language.
    notice: str | None = Field(None, min_length=1, max_length=1000)
    storm: StormPolicy = StormPolicy()
    storm_cooldown: timedelta = Field(timedelta(hours=6), gt=timedelta(0))
    # R-39 (Kristiansand, seed 004): "all communication goes through crisis
    # management": while on, replies on the accounts in scope wait for crisis
    # management's approval (domain.message, ApproveReply / SendBackReply).
    communication_through_crisis_management: bool = False
    # R-47 (Kristiansand, seed 004): "I krisesituasjon har kommunikasjonsenheten
    # ansvaret for å publisere": while on, the communications unit publishes
    # the posts of the accounts in scope. The stricter value is the default.
    communications_publishes: bool = True

    @field_validator("notice")
    @classmethod
    def _points_to_website_and_phone(cls, notice: str | None) -> str | None:
        if notice is None:
            return None
        fields = {name for _, name, _, _ in Formatter().parse(notice) if name is not None}
        unknown = fields - {"website", "phone"}
        if unknown:
            raise ValueError("the notice may name only {website} and {phone}, not "
                             + ", ".join(sorted(unknown)))
        if fields != {"website", "phone"}:
            raise ValueError("R-39: the crisis notice points to the website and the phone: "
                             "write {website} and {phone} in it")
        return notice

    def notice_text(self, country: str = "SE", home_page: str | None = None) -> str:
        """R-39: the website and phone come first; the accounts point to them."""
        return self.notice_and_defaults(country, home_page)[0]

    def notice_and_defaults(self, country: str = "SE", home_page: str | None = None
                            ) -> tuple[str, list[str]]:
        """R-39: the notice in the municipality's language, and which of the
        website and phone were not configured, so the municipality's own
        website (`home_page`) and switchboard stand in, said on the record."""
        lang = country if country in DEFAULT_NOTICES else "SE"
        defaults = [name for name, value in (("website", self.website), ("phone", self.phone))
                    if not value]
        website = self.website or home_page or FALLBACK_WEBSITE[lang]
        phone = self.phone or FALLBACK_PHONE[lang]
        text = (self.notice or DEFAULT_NOTICES[lang]).format(website=website, phone=phone)
        return text, defaults


class CrisisSettings(BaseModel):
    """What the crisis workflow carries from the directory, so its Update
    validators decide without I/O: the settings, who may switch (R-39), who
    hears of storms (R-40) and which units a crisis may name."""

    model_config = ConfigDict(frozen=True)

    municipality_id: str
    policy: CrisisPolicy = CrisisPolicy()
    crisis_management: frozenset[str] = frozenset()
    communications: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    # the notice's language and the municipality's own website, for a
    # crisis declared before its website and phone are configured.
    country: str = "SE"
    home_page: str | None = None


# --------------------------------------------------------------------------- digests


class DigestCase(BaseModel):
    """One message case as the digest reads it from the read models: no text."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    account_id: str
    unit_id: str
    received_at: datetime
    critical: bool
    question: bool
    open: bool
    flagged: bool


class DigestAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    messages: int
    questions: int
    critical: int
    open: int


class CrisisDigest(BaseModel):
    """R-39: posts and questions compiled for crisis management: counts,
    moods and case ids (the texts stay in PostgreSQL; the page shows them)."""

    model_config = ConfigDict(frozen=True)

    digest_id: str
    crisis_id: str
    municipality_id: str
    period_start: datetime
    period_end: datetime
    messages: int
    questions: int
    critical: int
    neutral: int
    open: int
    flagged: int
    by_account: list[DigestAccount] = []
    question_case_ids: list[str] = []
    critical_case_ids: list[str] = []
    more_case_ids: int = 0  # left out of the lists above, to keep the record small
    recipients: list[str] = []


MAX_DIGEST_CASE_IDS = 200


def compile_digest(mode: CrisisMode, cases: Sequence[DigestCase], *, period_start: datetime,
                   period_end: datetime, recipients: Sequence[str]) -> CrisisDigest:
    """R-39: the messages received in [period_start, period_end) on accounts
    the crisis covers, by account, with their questions and moods."""
    mine = sorted((c for c in cases if mode.covers(c.unit_id)
                   and period_start <= c.received_at < period_end),
                  key=lambda c: (c.received_at, c.case_id))
    by_account: dict[str, list[DigestCase]] = {}
    for case in mine:
        by_account.setdefault(case.account_id, []).append(case)
    questions = [c.case_id for c in mine if c.question]
    critical = [c.case_id for c in mine if c.critical]
    kept_q, kept_c = questions[:MAX_DIGEST_CASE_IDS], critical[:MAX_DIGEST_CASE_IDS]
    more = len(questions) - len(kept_q) + len(critical) - len(kept_c)
    return CrisisDigest(
        digest_id=f"{mode.crisis_id}@{period_end.isoformat()}", crisis_id=mode.crisis_id,
        municipality_id=mode.municipality_id, period_start=period_start, period_end=period_end,
        messages=len(mine), questions=len(questions), critical=len(critical),
        neutral=len(mine) - len(critical), open=sum(c.open for c in mine),
        flagged=sum(c.flagged for c in mine),
        by_account=[DigestAccount(account_id=a, messages=len(cs),
                                  questions=sum(c.question for c in cs),
                                  critical=sum(c.critical for c in cs),
                                  open=sum(c.open for c in cs))
                    for a, cs in sorted(by_account.items())],
        question_case_ids=kept_q, critical_case_ids=kept_c, more_case_ids=more,
        recipients=sorted(recipients))


# --------------------------------------------------------------------------- storms


def storm_check(recent: Sequence[RecentMessage], now: datetime, policy: CrisisPolicy,
                flagged_until: datetime | None) -> StormSignal | None:
    """R-40: a storm worth flagging: screening's storm signal over the window,
    unless the account's last flag is still cooling down (once per storm)."""
    if flagged_until is not None and now < flagged_until:
        return None
    return storm_signal(recent, now, policy.storm)


def storm_check_counts(counts: WindowCounts, now: datetime, policy: CrisisPolicy,
                       flagged_until: datetime | None) -> StormSignal | None:
    """`storm_check` over the window's counts, as the feeder keeps them."""
    if flagged_until is not None and now < flagged_until:
        return None
    return storm_signal_of(counts, policy.storm)


# --------------------------------------------------------------------------- events


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str | None = None


class CrisisSettingsLoaded(_Event):
    """The directory's crisis settings and roles, as the workflow now uses them."""

    type: Literal["CrisisSettingsLoaded"] = "CrisisSettingsLoaded"
    settings: CrisisSettings


class CrisisDeclared(_Event):
    """R-39: who switched, when, for which units (none: all), why, and the
    rules that apply."""

    type: Literal["CrisisDeclared"] = "CrisisDeclared"
    crisis: CrisisMode
    reason: str
    digest_every: timedelta
    # the settings not configured when it was declared (website, phone),
    # for which the municipality's defaults stand in the notice.
    defaults_used: list[str] = []


class CrisisApproversChanged(_Event):
    """R-39, R-43: the directory changed crisis management (or the setting
    that replies go through it) during a crisis; the crisis's rules now name
    the new approvers, and the accounts and open cases are told."""

    type: Literal["CrisisApproversChanged"] = "CrisisApproversChanged"
    crisis: CrisisMode


class CrisisEnded(_Event):
    type: Literal["CrisisEnded"] = "CrisisEnded"
    crisis_id: str
    units: frozenset[str] = frozenset()
    reason: str


class CrisisDigestCompiled(_Event):
    type: Literal["CrisisDigestCompiled"] = "CrisisDigestCompiled"
    digest: CrisisDigest


class StormFlagged(_Event):
    """R-40: raised to the communications unit, once per storm."""

    type: Literal["StormFlagged"] = "StormFlagged"
    account_id: str
    unit_id: str
    flag: StormFlag
    window_start: datetime
    window_end: datetime
    recipients: list[str]


class StormCooledDown(_Event):
    """R-40: the cool-down has passed; a new storm may be flagged again."""

    type: Literal["StormCooledDown"] = "StormCooledDown"
    account_id: str


CrisisEvent = Annotated[
    CrisisSettingsLoaded | CrisisDeclared | CrisisEnded | CrisisDigestCompiled | StormFlagged
    | StormCooledDown | CrisisApproversChanged,
    Field(discriminator="type"),
]
_EVENTS: TypeAdapter[CrisisEvent] = TypeAdapter(CrisisEvent)


def parse_event(data: object) -> CrisisEvent:
    return _EVENTS.validate_python(data)


# --------------------------------------------------------------------------- commands


class _Command(CleanStrings):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    actor: str = Field(min_length=1, max_length=64)


class LoadSettings(_Command):
    settings: CrisisSettings


class DeclareCrisis(_Command):
    reason: str = Field(min_length=1, max_length=2000)
    units: frozenset[str] = frozenset()  # empty: the whole municipality


class EndCrisis(_Command):
    reason: str = Field(min_length=1, max_length=2000)


class RecordDigest(_Command):
    digest: CrisisDigest


class FlagStorm(_Command):
    account_id: str
    unit_id: str
    signal: StormSignal


class FireDue(_Command):
    pass


Command = LoadSettings | DeclareCrisis | EndCrisis | RecordDigest | FlagStorm | FireDue


# --------------------------------------------------------------------------- state


class StormEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit_id: str
    flag: StormFlag


class CrisisState(BaseModel):
    """Everything the crisis workflow knows, carried across continue-as-new."""

    municipality_id: str
    settings: CrisisSettings
    version: int = 0
    active: CrisisMode | None = None
    reason: str | None = None
    declared_by: str | None = None
    digest_every: timedelta = timedelta(hours=1)
    last_digest_end: datetime | None = None
    digests: int = 0
    crises: int = 0
    storms: dict[str, StormEntry] = {}

    def status_for(self, account_id: str, unit_id: str) -> CrisisStatus:
        """What one account is told: the crisis if it covers the unit, and
        the account's storm flag while it cools down."""
        mode = self.active if self.active is not None and self.active.covers(unit_id) else None
        entry = self.storms.get(account_id)
        return CrisisStatus(mode=mode, storm=entry.flag if entry else None)


def next_digest_due(state: CrisisState) -> datetime | None:
    """R-39: the digest is compiled every `digest_every` while in crisis mode."""
    if state.active is None:
        return None
    return (state.last_digest_end or state.active.declared_at) + state.digest_every


def next_cooldown_end(state: CrisisState) -> datetime | None:
    ends = [e.flag.until for e in state.storms.values()]
    return min(ends) if ends else None


def next_wake(state: CrisisState) -> datetime | None:
    due = [d for d in (next_digest_due(state), next_cooldown_end(state)) if d is not None]
    return min(due) if due else None


# --------------------------------------------------------------------------- decide


def may_switch(settings: CrisisSettings, person: str) -> bool:
    """R-39: crisis management (krisledning) switches crisis mode."""
    return person in settings.crisis_management


def _require_crisis_management(state: CrisisState, actor: str, what: str) -> None:
    if not may_switch(state.settings, actor):
        raise NotAuthorised(f"R-39: only crisis management may {what}; {actor} is not in "
                            f"{state.municipality_id}'s crisis management",
                            key="crisis.management_only")


def approval_rule(settings: CrisisSettings, mode: CrisisMode) -> CrisisMode:
    """R-39 (Kristiansand), R-43: whether replies go through crisis management
    and who it is, as the directory says now; the running crisis follows, so
    a member who joins may approve and one who leaves no longer does."""
    through = settings.policy.communication_through_crisis_management
    return mode.model_copy(update={
        "through_crisis_management": through,
        "crisis_management": settings.crisis_management if through else frozenset()})


def crisis_id_for(state: CrisisState, now: datetime) -> str:
    """Readable and unique within the municipality: `<municipality>-<n>-<time>`."""
    return f"{state.municipality_id}-{state.crises + 1}-{now:%Y%m%dT%H%M%SZ}"


def load_settings(state: CrisisState | None, command: LoadSettings, now: datetime
                  ) -> list[CrisisEvent]:
    """R-43: the municipality's crisis settings, as the directory has them; a
    crisis on follows a change of who approves (R-39)."""
    actor = command.actor
    if state is not None and state.settings == command.settings:
        return []
    if state is not None and command.settings.municipality_id != state.municipality_id:
        raise RuleViolation("settings of another municipality", key="crisis.other_municipality")
    loaded: list[CrisisEvent] = [CrisisSettingsLoaded(at=now, actor=actor,
                                                      settings=command.settings)]
    mode = state.active if state is not None else None
    if mode is not None:
        follows = approval_rule(command.settings, mode)
        if follows != mode:
            loaded.append(CrisisApproversChanged(at=now, actor=actor, crisis=follows))
    return loaded


def declare_crisis(state: CrisisState, command: DeclareCrisis, now: datetime) -> list[CrisisEvent]:
    """R-39: crisis management switches the named units to crisis mode, with
    the municipality's crisis settings (R-43)."""
    actor = command.actor
    _require_crisis_management(state, actor, "switch to crisis mode")
    if state.active is not None:
        raise WrongStage(f"already in crisis mode since "
                         f"{state.active.declared_at.isoformat()} "
                         f"({state.active.crisis_id})", key="crisis.already_active")
    unknown = sorted(command.units - state.settings.units)
    if unknown:
        raise RuleViolation(f"no such unit in {state.municipality_id}: "
                            + ", ".join(unknown), key="crisis.unknown_units",
                            params={"units": ", ".join(unknown)})
    policy = state.settings.policy
    notice, defaults = policy.notice_and_defaults(state.settings.country,
                                                  state.settings.home_page)
    mode = CrisisMode(
        crisis_id=crisis_id_for(state, now), municipality_id=state.municipality_id,
        declared_at=now, units=command.units, answer_within=policy.answer_within,
        checkin_every=policy.checkin_every, notice=notice,
        communications_publish=policy.communications_publishes,
        communications=state.settings.communications,
        through_crisis_management=policy.communication_through_crisis_management,
        crisis_management=(state.settings.crisis_management
                           if policy.communication_through_crisis_management
                           else frozenset()))
    return [CrisisDeclared(at=now, actor=actor, crisis=mode, reason=command.reason,
                           digest_every=policy.digest_every, defaults_used=defaults)]


def end_crisis(state: CrisisState, command: EndCrisis, now: datetime) -> list[CrisisEvent]:
    """R-39: crisis management ends crisis mode."""
    actor = command.actor
    _require_crisis_management(state, actor, "end crisis mode")
    if state.active is None:
        raise WrongStage("not in crisis mode", key="crisis.not_active")
    return [CrisisEnded(at=now, actor=actor, crisis_id=state.active.crisis_id,
                        units=state.active.units, reason=command.reason)]


def record_digest(state: CrisisState, command: RecordDigest, now: datetime) -> list[CrisisEvent]:
    """R-40: a digest of the crisis's cases, once per period."""
    actor = command.actor
    d = command.digest
    if state.active is None or d.crisis_id != state.active.crisis_id:
        return []  # the crisis ended while the digest was compiled
    if state.last_digest_end is not None and d.period_end <= state.last_digest_end:
        return []
    return [CrisisDigestCompiled(at=now, actor=actor, digest=d)]


def flag_storm(state: CrisisState, command: FlagStorm, now: datetime) -> list[CrisisEvent]:
    """R-40: a storm on an account is flagged to the communications unit, once
    per storm."""
    actor = command.actor
    entry = state.storms.get(command.account_id)
    if entry is not None and now < entry.flag.until:
        return []  # once per storm; the cool-down runs
    s = command.signal
    flag = StormFlag(flagged_at=now, until=now + state.settings.policy.storm_cooldown,
                     messages=s.messages, critical=s.critical, advice=s.advice)
    return [StormFlagged(at=now, actor=actor, account_id=command.account_id,
                         unit_id=command.unit_id, flag=flag,
                         window_start=s.window_start, window_end=s.window_end,
                         recipients=sorted(state.settings.communications))]


def cool_down_storms(state: CrisisState, command: FireDue, now: datetime) -> list[CrisisEvent]:
    """R-40: a storm flag whose cool-down has run is lifted."""
    actor = command.actor
    return [StormCooledDown(at=now, actor=actor, account_id=account)
            for account, entry in sorted(state.storms.items())
            if entry.flag.until <= now]


RULES: dict[type[Any], Callable[[CrisisState, Any, datetime], list[CrisisEvent]]] = {
    DeclareCrisis: declare_crisis,
    EndCrisis: end_crisis,
    RecordDigest: record_digest,
    FlagStorm: flag_storm,
    FireDue: cool_down_storms,
}


def decide(state: CrisisState | None, command: Command, *, now: datetime) -> list[CrisisEvent]:
    """The events `command` causes at `now`, or a DomainError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(command, LoadSettings):
        return load_settings(state, command, now)
    if state is None:
        raise WrongStage("the crisis workflow has no settings yet", key="crisis.no_settings")
    rule = next((RULES[kind] for kind in type(command).__mro__ if kind in RULES), None)
    if rule is None:
        raise TypeError(f"unknown command {type(command).__name__}")
    return rule(state, command, now)


# --------------------------------------------------------------------------- evolve


def evolve(state: CrisisState | None, event: CrisisEvent) -> CrisisState:
    if isinstance(event, CrisisSettingsLoaded):
        if state is None:
            return CrisisState(municipality_id=event.settings.municipality_id,
                               settings=event.settings, version=1)
        return state.model_copy(update={"settings": event.settings,
                                        "version": state.version + 1})
    if state is None:
        raise ValueError(f"{event.type} before the settings were loaded")
    changes: dict[str, object] = {"version": state.version + 1}
    match event:
        case CrisisDeclared():
            changes |= {"active": event.crisis, "reason": event.reason,
                        "declared_by": event.actor, "digest_every": event.digest_every,
                        "last_digest_end": None, "crises": state.crises + 1}
        case CrisisEnded():
            changes |= {"active": None, "reason": None, "declared_by": None,
                        "last_digest_end": None}
        case CrisisApproversChanged() if state.active is not None:
            changes["active"] = event.crisis
        case CrisisDigestCompiled():
            changes |= {"last_digest_end": event.digest.period_end,
                        "digests": state.digests + 1}
        case StormFlagged():
            changes["storms"] = {**state.storms,
                                 event.account_id: StormEntry(unit_id=event.unit_id,
                                                              flag=event.flag)}
        case StormCooledDown():
            changes["storms"] = {k: v for k, v in state.storms.items() if k != event.account_id}
    return state.model_copy(update=changes)


def fold(events: Sequence[CrisisEvent]) -> CrisisState:
    state: CrisisState | None = None
    for event in events:
        state = evolve(state, event)
    if state is None:
        raise ValueError("no events")
    return state
