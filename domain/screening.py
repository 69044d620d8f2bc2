"""Content screening of inbound comments and messages: pure rules that flag
what a moderator must look at, and what is hidden at once.

    identity numbers (personnummer, samordningsnummer, fødselsnummer, D-nummer),
    also as people write them (spaces, dots, typographic dashes)
        -> hidden at once by default, then captured, registered, deleted (R-31)
    e-mail addresses (also "(at)", "[at]", "(punkt)"), phone numbers
        -> privacy, for review (R-29, R-34)
    profanity, insults, agitation against a group -> for review (R-29)
    a link together with sales language or a promise of money -> advertising (R-32)
    negative mood -> counted towards a storm of criticism (R-40)

Identity numbers, e-mail addresses and phone numbers are found by
domain.personal_data; this module turns what is found into flags.

Screening only proposes: a person decides every removal, with its category and
law (domain.redaction). What hides at once and what goes to review is a
per-account setting (R-43), `ScreeningPolicy`. A flag never carries the matched
text itself, since flags end up in logs and read models; its `span` lets the
moderation inbox highlight the passage.

Pure and deterministic: no clock, no I/O, no randomness; the word lists are
constants (domain.wordlists) compiled once at import, and `now` comes in as an
argument, so this runs inside the Temporal workflow sandbox."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import groupby
from types import MappingProxyType
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
)

from domain import wordlists
from domain.personal_data import (
    IdentityKind,
    Span,
    find_emails,
    find_identity_numbers,
    find_phone_numbers,
    overlaps,
)
from domain.redaction import RemovalCategory
from domain.wordlists import Language

Mood = Literal["neutral", "critical"]


_LANGUAGE_NAMES: Mapping[Language, str] = MappingProxyType(
    {"sv": "Swedish", "nb": "Norwegian", "en": "English"}
)


_VOWELS = frozenset("aeiouyåäöæøé")


# What a letter may be written as: leetspeak, and the Nordic letters typed
# without their diacritics or in the neighbour's spelling ("javla", "jævla").
# Plain a/o never stand for ä/ö: "hora" must not match "höra" (to hear).
_VARIANTS: Mapping[str, str] = MappingProxyType(
    {
        "a": "a4@",
        "e": "e3",
        "i": "i1!|",
        "o": "o0",
        "s": "s5$",
        "t": "t7",
        "l": "l1|",
        "ä": "äæa",
        "æ": "æäa",
        "ö": "öøo0",
        "ø": "øöo0",
    }
)


_INSIDE_WORD = r"[.\-_~]*"  # "f.u.c.k", "f-u-c-k"


_WORD_START = r"(?<![^\W_])"


_WORD_END = r"(?![^\W_])"


_STEM_TAIL = r"(?:[.\-_~]?[^\W\d_])*"  # "helvet*": "helvetet", "H-E-L-V-E-T-E"


def _obfuscated(word: str) -> str:
    """A pattern for `word` that tolerates repeated vowels ("heeelvete"),
    leetspeak ("1d10t") and dots or asterisks ("f*ck", "f.u.c.k"). Consonants
    keep their count, so "fann" (found) is not "fan", nor "as" "ass"."""
    groups = []
    for index, (letter, run) in enumerate((ch, len(list(g))) for ch, g in groupby(word)):
        chars = re.escape(_VARIANTS.get(letter, letter)) + ("" if index == 0 else r"\*")
        count = f"{{{run},}}" if letter in _VOWELS else (f"{{{run}}}" if run > 1 else "")
        groups.append(f"[{chars}]{count}")
    return _INSIDE_WORD.join(groups)


def _entry_pattern(entry: str, *, obfuscation: bool) -> str:
    stem = entry.endswith("*")
    words = entry.rstrip("*").lower().split()
    body = r"[\s\-]+".join(_obfuscated(w) if obfuscation else re.escape(w) for w in words)
    return body + (_STEM_TAIL if stem else "")


def _compile(entries: Iterable[str], *, obfuscation: bool) -> re.Pattern[str]:
    # Longest first, so "fy faen" wins over "faen" where both start.
    ordered = sorted(set(entries), key=len, reverse=True)
    alternatives = "|".join(_entry_pattern(e, obfuscation=obfuscation) for e in ordered)
    return re.compile(f"{_WORD_START}(?:{alternatives}){_WORD_END}", re.IGNORECASE)


def _per_language(
    lists: Mapping[Language, tuple[str, ...]], *, obfuscation: bool
) -> tuple[tuple[Language, re.Pattern[str]], ...]:
    return tuple(
        (language, _compile(lists[language], obfuscation=obfuscation))
        for language in wordlists.LANGUAGES
    )


_INNOCENT = _compile(wordlists.INNOCENT_PHRASES, obfuscation=False)


_SALES = _per_language(wordlists.SALES_PHRASES, obfuscation=False)


_CRITICAL = _per_language(wordlists.CRITICAL_WORDS, obfuscation=False)


class FlagKind(StrEnum):
    IDENTITY_NUMBER = "identity_number"
    EMAIL = "email"
    PHONE_NUMBER = "phone_number"
    PROFANITY = "profanity"
    INSULT = "insult"
    AGITATION = "agitation"
    ADVERTISING = "advertising"


# Each kind of flag proposes one removal category, under one rule.
FLAG_RULES: Mapping[FlagKind, tuple[RemovalCategory, str]] = MappingProxyType(
    {
        # Handled as confidential: capture, register as a case, delete.
        FlagKind.IDENTITY_NUMBER: (RemovalCategory.PRIVACY_OR_SENSITIVE_DATA, "R-31"),
        FlagKind.EMAIL: (RemovalCategory.PRIVACY_OR_SENSITIVE_DATA, "R-29"),
        FlagKind.PHONE_NUMBER: (RemovalCategory.PRIVACY_OR_SENSITIVE_DATA, "R-29"),
        FlagKind.PROFANITY: (RemovalCategory.PROFANITY_OR_OBSCENITY, "R-29"),
        FlagKind.INSULT: (RemovalCategory.DEFAMATION_OR_INSULT, "R-29"),
        FlagKind.AGITATION: (RemovalCategory.AGITATION_AGAINST_GROUP, "R-29"),
        FlagKind.ADVERTISING: (RemovalCategory.ADVERTISING, "R-32"),
    }
)


_WORD_KINDS = (
    (FlagKind.PROFANITY, _per_language(wordlists.PROFANITY, obfuscation=True)),
    (FlagKind.INSULT, _per_language(wordlists.INSULTS, obfuscation=True)),
    (FlagKind.AGITATION, _per_language(wordlists.AGITATION, obfuscation=True)),
)


class Flag(BaseModel):
    """Why a message needs a look. `detail` describes, never quotes: flags are
    logged and projected, and must not spread the personal data they found."""

    model_config = ConfigDict(frozen=True)

    kind: FlagKind
    category: RemovalCategory
    rule: str
    detail: str
    span: Span
    # Which identity number an IDENTITY_NUMBER flag found, so a page can name
    # it in the reader's language (`detail` is English); None on other kinds
    # and on flags recorded before this field.
    identity: IdentityKind | None = None


def _flag(kind: FlagKind, detail: str, span: Span,
          identity: IdentityKind | None = None) -> Flag:
    category, rule = FLAG_RULES[kind]
    return Flag(kind=kind, category=category, rule=rule, detail=detail, span=span,
                identity=identity)


class ScreeningResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    flags: list[Flag] = Field(default_factory=list)
    mood: Mood = "neutral"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def needs_review(self) -> bool:
        return bool(self.flags)

    @property
    def kinds(self) -> frozenset[FlagKind]:
        return frozenset(flag.kind for flag in self.flags)


class ScreeningPolicy(BaseModel):
    """Per-account screening settings (R-43). A kind in `auto_hide` is hidden at
    once and still reviewed; a kind in `review` only goes to review; a kind in
    neither is not acted on. `trusted_domains` (the municipality's own sites)
    are links that never make a message advertising."""

    model_config = ConfigDict(frozen=True)

    auto_hide: frozenset[FlagKind] = frozenset({FlagKind.IDENTITY_NUMBER})
    review: frozenset[FlagKind] = Field(
        default_factory=lambda: frozenset(FlagKind) - {FlagKind.IDENTITY_NUMBER}
    )
    trusted_domains: frozenset[str] = frozenset()

    @field_validator("trusted_domains")
    @classmethod
    def _bare_hosts(cls, domains: frozenset[str]) -> frozenset[str]:
        return frozenset(d.strip().lower().removeprefix("www.") for d in domains if d.strip())


_TLDS = (
    "com|net|org|info|biz|shop|store|online|site|xyz|io|co|app|link|club|top|"
    "se|no|nu|dk|fi|eu|de|uk|ru|"
    # link shorteners and the cheap domains spam favours (bit.ly, cutt.ly, t.me)
    "ly|me|gl|cc|ws|tk|ml|ga|cf|gq|pw|icu|live|click|vip|win|bid|loan|money|cash|pro"
)


# Advertising that promises money (issue 10): "tjäna 5 000 kr i veckan",
# "tjente 30 000 kroner", "earn $500 a day", "snabba pengar", "passiv
# inkomst". Only verbs of earning or winning: "hur får jag 5 000 kr i
# bidrag?" with a link to the authority is a question, not an advertisement.
_AMOUNT = (r"(?:[$€£]\s?\d[\d  .,]*|\d[\d  .,]*\s?(?:kr\b|kr\.|kronor|kroner|sek\b|nok\b|"
           r"euro|€|\$|dollar|usd\b)|pengar|penger|money|cash)")


_MONEY_PROMISE = re.compile(
    r"(?<![^\W_])(?:(?:tjäna|tjänar|tjänade|tjänat|tjen|tjene|tjener|tjente|tjent|earn|earns|"
    r"earned|earning|make|makes|made|making|vinn|vinna|win|winning)\b[^.!?\n]{0,40}?"
    + _AMOUNT
    + r"|snabba pengar|enkla pengar|lätta pengar|raske penger|enkle penger|lette penger|"
    r"easy money|fast cash|passiv inkomst|passiv inntekt|passive income)",
    re.IGNORECASE,
)


_URL = re.compile(r"(?:\bhttps?://|(?<![\w.@-])www\.)[^\s<>\"']+", re.IGNORECASE)


# Bare domains ("example.com"). The top-level domain must be in lower case, so
# a missing space after a full stop ("slut.Nu") is not a link.
_BARE_DOMAIN = re.compile(
    r"(?<![\w.@/-])(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:" + _TLDS + r")(?![\w-])(?:/[^\s<>\"']*)?"
)


_TRAILING_PUNCTUATION = ".,;:!?)]}\"'"


def _host(link: str) -> str:
    host = re.sub(r"^[a-z]+://", "", link.lower())
    return re.split(r"[/?#:]", host, maxsplit=1)[0].removeprefix("www.")


def _links(text: str, trusted: frozenset[str]) -> list[Span]:
    spans: list[Span] = []
    for pattern in (_URL, _BARE_DOMAIN):
        for match in pattern.finditer(text):
            link = match.group().rstrip(_TRAILING_PUNCTUATION)
            span = (match.start(), match.start() + len(link))
            host = _host(link)
            if any(host == d or host.endswith("." + d) for d in trusted):
                continue
            if not overlaps(span, spans):
                spans.append(span)
    return sorted(spans)


def _first_hit(patterns: Iterable[tuple[Language, re.Pattern[str]]], text: str) -> bool:
    return any(pattern.search(text) for _, pattern in patterns)


def _word_flags(text: str) -> list[Flag]:
    innocent = [match.span() for match in _INNOCENT.finditer(text)]
    flags: list[Flag] = []
    for kind, patterns in _WORD_KINDS:
        taken: list[Span] = []
        for language, pattern in patterns:
            for match in pattern.finditer(text):
                span = match.span()
                # Digits alone ("455") are never a word, whatever leetspeak says;
                # "f***" is already censored and could be any f-word in any list.
                word = match.group()
                if not any(ch.isalpha() for ch in word) or len(word) - word.count("*") < 2:
                    continue
                if any(start <= span[0] and span[1] <= end for start, end in innocent):
                    continue
                if overlaps(span, taken):  # the same word in two languages' lists
                    continue
                taken.append(span)
                detail = f"{kind.value} ({_LANGUAGE_NAMES[language]} word list)"
                flags.append(_flag(kind, detail, span))
    return flags


def screen(text: str, policy: ScreeningPolicy | None = None) -> ScreeningResult:
    """Flag what in `text` a moderator must look at (R-29, R-31, R-32) and read
    its mood for the storm signal (R-40).

    Spans index the NFC form of `text` (platforms deliver NFC, so in practice
    the text as received). Only `policy.trusted_domains` is read here; what is
    hidden is decided by `auto_actions`.
    """
    text = unicodedata.normalize("NFC", text)
    trusted = (policy or ScreeningPolicy()).trusted_domains
    flags = [
        _flag(
            FlagKind.IDENTITY_NUMBER,
            f"{m.kind.description} (date and check digits valid)",
            m.span,
            m.kind,
        )
        for m in find_identity_numbers(text)
    ]
    flags += [_flag(FlagKind.EMAIL, "e-mail address", span) for span in find_emails(text)]
    flags += [
        _flag(FlagKind.PHONE_NUMBER, phone.description, phone.span)
        for phone in find_phone_numbers(text)
    ]
    flags += _word_flags(text)
    links = _links(text, trusted)
    if links and _first_hit(_SALES, text):
        flags.append(_flag(FlagKind.ADVERTISING, "link together with sales language", links[0]))
    elif links and _MONEY_PROMISE.search(text):
        flags.append(_flag(FlagKind.ADVERTISING, "link together with a promise of money",
                           links[0]))
    mood: Mood = "critical" if _first_hit(_CRITICAL, text) else "neutral"
    return ScreeningResult(flags=sorted(flags, key=lambda f: (f.span, f.kind)), mood=mood)


class AutoAction(BaseModel):
    """What happens before a person looks: hide at once (R-31) and/or queue for
    review. `reasons` are the flags that hide the message."""

    model_config = ConfigDict(frozen=True)

    hide: bool
    reasons: list[Flag] = Field(default_factory=list)
    review: bool
    review_reasons: list[Flag] = Field(default_factory=list)


def auto_actions(result: ScreeningResult, policy: ScreeningPolicy) -> AutoAction:
    reasons = [flag for flag in result.flags if flag.kind in policy.auto_hide]
    # A hidden message is always reviewed: hiding is not yet the removal
    # decision, which needs its category and a preserved copy.
    to_review = [f for f in result.flags if f.kind in policy.review | policy.auto_hide]
    return AutoAction(
        hide=bool(reasons), reasons=reasons, review=bool(to_review), review_reasons=to_review
    )


class StormPolicy(BaseModel):
    """When criticism counts as a storm (R-40); a per-account setting (R-43)."""

    model_config = ConfigDict(frozen=True)

    window: timedelta = Field(timedelta(hours=1), gt=timedelta(0))
    min_messages: int = Field(30, ge=1)
    min_critical_share: float = Field(0.5, gt=0, le=1)


class RecentMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    received_at: AwareDatetime
    critical: bool


class StormSignal(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: Literal["R-40"] = "R-40"
    window_start: datetime
    window_end: datetime
    messages: int
    critical: int
    critical_share: float
    advice: str = "A storm of criticism: consider a topic page on the website (R-40)."


class WindowCounts(BaseModel):
    """An account's citizen messages in a storm window, counted: kept per
    minute as they arrive (so a storm of 10,000 costs the same per message as
    one of 100) or counted from a list of messages."""

    model_config = ConfigDict(frozen=True)

    window_start: datetime
    window_end: datetime
    messages: int = Field(ge=0)
    critical: int = Field(ge=0)


def storm_signal_of(counts: WindowCounts, policy: StormPolicy | None = None
                    ) -> StormSignal | None:
    """A storm when at least `min_messages` arrived in the window and at
    least `min_critical_share` of them were critical (R-40)."""
    policy = policy or StormPolicy()
    if counts.messages < policy.min_messages:
        return None
    share = counts.critical / counts.messages
    if share < policy.min_critical_share:
        return None
    return StormSignal(
        window_start=counts.window_start,
        window_end=counts.window_end,
        messages=counts.messages,
        critical=counts.critical,
        critical_share=share,
    )


def storm_signal(
    recent: Sequence[RecentMessage], now: datetime, policy: StormPolicy | None = None
) -> StormSignal | None:
    """A storm when, in the window ending at `now`, at least `min_messages`
    arrived and at least `min_critical_share` of them were critical (R-40).

    The window is half-open, (now - window, now]: a message exactly one window
    old has dropped out, one received at `now` counts, and one stamped after
    `now` (a skewed platform clock) is ignored.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or StormPolicy()
    start = now - policy.window
    window = [m for m in recent if start < m.received_at <= now]
    return storm_signal_of(WindowCounts(window_start=start, window_end=now,
                                        messages=len(window),
                                        critical=sum(m.critical for m in window)), policy)


COUNTING_MINUTE = timedelta(minutes=1)


def counted_minutes(now: datetime, policy: StormPolicy | None = None
                    ) -> tuple[datetime, datetime]:
    """The minutes whose counts make up the window ending at `now`, as
    (first, last) minute starts: every minute that overlaps (now - window,
    now]. Counted in whole minutes, the oldest one whole: a message up to a
    minute older than the window may count, none inside it is missed."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or StormPolicy()

    def minute_of(t: datetime) -> datetime:
        return t.replace(second=0, microsecond=0)

    return minute_of(now - policy.window), minute_of(now)


# words that mark a text as confidential (sekretess, taushetsplikt).
_CONFIDENTIAL_MARKERS = re.compile(
    r"\b(sekretessbelagd\w*|sekretessreglerad\w*|omfattas av sekretess|konfidentiell\w*"
    r"|taushetsbelagt\w*|taushetsplikt\w*|unntatt offentlighet|confidential)\b",
    re.IGNORECASE)


def confidential_in_outgoing(text: str) -> list[str]:
    """R-44, "Självfallet ska kommunen inte publicera sekretessreglerade
    uppgifter": what in a text about to be published stops it (an identity
    number with valid check digits, a confidential marker), described, never
    quoted."""
    found = [f.detail for f in screen(text).flags if f.kind is FlagKind.IDENTITY_NUMBER]
    if _CONFIDENTIAL_MARKERS.search(text):
        found.append("confidential marker")
    return found
