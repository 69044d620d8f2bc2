"""Kanalvakt's texts: gettext catalogs in Swedish (the default), Norwegian
bokmål and English, with Babel's number and date formats.

The catalogs are `texts/locale/<lang>/LC_MESSAGES/kanalvakt.po`, in git and
in the wheel. They are read with Babel's `read_po` at first use and compiled
in memory into a `gettext.GNUTranslations` (no `.mo` file anywhere), so a
text edited in a `.po` file is live at the next start. Message ids are
stable keys ("nav.tasks", "rule.approve.own_request"), never the English
text; placeholders are `{name}` (python-brace-format), filled by `Texts`.

    t = texts.for_language("nb")
    t("nav.tasks")                               # "Mine oppgaver"
    t("signed_in_as", name="Elin")               # "{name}" filled
    t.n("register.caption", 1)                   # "1 offisiell kanal" (ngettext)
    t.number(4.5)                                # "4,5"

A key missing in nb or en falls back to the Swedish text; a key missing
everywhere shows itself, so a typo is visible on the page (and
tests/e2e/test_texts.py fails on any key missing or empty in any catalog).

One code for Norwegian bokmål: `nb`. `language()` maps what comes from
outside (`no`, `nn`, `nb-NO`, `no_NO`, a stored `no`) onto it.

Below web/ and adapters/ (both render texts); no import of the project.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES: tuple[str, ...] = ("sv", "nb", "en")
DEFAULT = "sv"
DOMAIN = "kanalvakt"
LOCALE_DIR = Path(__file__).parent / "locale"
# The Babel locale whose formats each language uses (decimal comma in sv and nb).
LOCALES: Mapping[str, str] = {"sv": "sv_SE", "nb": "nb_NO", "en": "en_GB"}
# Codes from outside that mean one of ours: Norwegian (no), nynorsk readers
# get bokmål (the only Norwegian catalog), and bokmål itself.
_ALIASES: Mapping[str, str] = {"no": "nb", "nn": "nb", "nb": "nb"}
# A deadline in words (issue 14): the weekday and date ("fredag 18 december",
# "fredag 18. desember", "Friday 18 December") and the clock as each writes it.
_DAY_WORDS: Mapping[str, str] = {"sv": "EEEE d MMMM", "nb": "EEEE d. MMMM",
                                 "en": "EEEE d MMMM"}
_CLOCK: Mapping[str, str] = {"sv": "HH.mm", "nb": "HH.mm", "en": "HH:mm"}


def language(code: str | None) -> str | None:
    """One of LANGUAGES for a language code or tag ("no", "nb-NO", "sv_FI",
    "en-GB"), or None when it names none of them."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else None


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> Catalog:
    """The language's catalog as written (no fallback), read with Babel."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=DOMAIN)


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The catalog compiled in memory; nb and en fall back to Swedish."""
    buffer = BytesIO()
    write_mo(buffer, catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    if lang != DEFAULT:
        compiled.add_fallback(translations(DEFAULT))
    return compiled


class CatalogText(str):
    """A text from the catalogs, filled in. Marked so that the pages can
    tell it from what people wrote: the intranet prints a catalog text
    without its rule ids (those go behind "Varför?", web/rendering.py), but
    never changes a citizen's or a colleague's own words."""

    __slots__ = ()


def _fill(text: str, values: Mapping[str, object]) -> CatalogText:
    return CatalogText(text.format(**values) if values else text)


class Texts:
    """The texts of one language: `t(key, **values)` (gettext), `t.n(key,
    count, **values)` (ngettext, `{n}` is the count in the locale's format
    unless given), `t.number()`, `t.when()`, `t.by()` (a deadline in words) and
    `t.day()` in the locale's formats."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.locale = Locale.parse(LOCALES[self.lang])
        self._translations = translations(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        return _fill(self._translations.gettext(key), values)

    def gettext(self, key: str, **values: object) -> str:
        return self(key, **values)

    def ngettext(self, singular: str, plural: str, count: float, **values: object) -> str:
        """The catalog's plural form for `count` (its Plural-Forms rule); a
        fraction reads as plural in sv, nb and en ("1,5 timmar")."""
        whole = int(count) if float(count).is_integer() else 2
        text = self._translations.ngettext(singular, plural, whole)
        return _fill(text, {"n": self.number(count), **values})

    def n(self, key: str, count: float, **values: object) -> str:
        return self.ngettext(key, key, count, **values)

    def has(self, key: str) -> bool:
        """Whether the Swedish catalog (every key's home) has the key."""
        return bool(key) and key in catalog(DEFAULT)

    def number(self, value: float, digits: int = 1) -> str:
        """A number as the reader writes it: "4,5" in sv and nb, "4.5" in en;
        at most `digits` decimals, none for a whole number."""
        pattern = "#,##0." + "#" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def when(self, moment: datetime, tz: str | None = None) -> str:
        """A moment in the locale's short form ("2026-12-18 16:30" in sv,
        "18.12.2026, 16:30" in nb) in the time zone `tz`."""
        return format_datetime(moment, format="short",
                               tzinfo=ZoneInfo(tz) if tz else None, locale=self.locale)

    def by(self, moment: datetime, tz: str, now: datetime) -> str:
        """A deadline in words in the time zone `tz`: "senast fredag 18
        december kl. 16.30" (sv), "innen fredag 18. desember kl. 16.30" (nb),
        "by Friday 18 December, 16:30" (en); "i dag kl. 16.30" and "i morgon
        kl. 16.30" when it falls today or tomorrow there (as of `now`); the
        year only when it is not this year."""
        zone = ZoneInfo(tz)
        local, today = moment.astimezone(zone), now.astimezone(zone).date()
        clock = format_time(local, _CLOCK[self.lang], locale=self.locale)
        if local.date() == today:
            return self("when.today", time=clock)
        if local.date() == today + timedelta(days=1):
            return self("when.tomorrow", time=clock)
        pattern = _DAY_WORDS[self.lang] + ("" if local.year == today.year else " y")
        return self("when.by", day=format_date(local.date(), pattern, locale=self.locale),
                    time=clock)

    def day(self, day: date | str) -> str:
        """A date in the locale's short form ("2026-03-02" in sv, "02.03.2026"
        in nb); an ISO string is read first."""
        if isinstance(day, str):
            day = date.fromisoformat(day)
        return format_date(day, format="short", locale=self.locale)


@cache
def for_language(lang: str) -> Texts:
    return Texts(lang)


def swedish(key: str, **values: object) -> str:
    """A text in Swedish: what is stored where a record keeps one language."""
    return for_language(DEFAULT)(key, **values)
