"""Personal data as people write it in a comment: identity numbers
(personnummer, samordningsnummer, fødselsnummer, D-nummer; also with spaces,
dots, typographic dashes), e-mail addresses (also "(at)", "[at]",
"(punkt)") and phone numbers, found as spans (R-29, R-31, R-34).

Pure and deterministic; domain.screening turns what is found into flags."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
)

from domain.country import Country

Span = tuple[int, int]


class IdentityKind(StrEnum):
    SE_PERSONNUMMER = "se_personnummer"
    SE_SAMORDNINGSNUMMER = "se_samordningsnummer"
    NO_FODSELSNUMMER = "no_fodselsnummer"
    NO_D_NUMMER = "no_d_nummer"

    @property
    def description(self) -> str:
        return {
            IdentityKind.SE_PERSONNUMMER: "Swedish personnummer",
            IdentityKind.SE_SAMORDNINGSNUMMER: "Swedish samordningsnummer",
            IdentityKind.NO_FODSELSNUMMER: "Norwegian fødselsnummer",
            IdentityKind.NO_D_NUMMER: "Norwegian D-nummer",
        }[self]


class IdentityNumberMatch(BaseModel):
    """Where an identity number is; deliberately not the number itself."""

    model_config = ConfigDict(frozen=True)

    kind: IdentityKind
    span: Span


# A number glued to more digits ("12-191212-1212", an account or invoice
# number) is part of something longer, not an identity number.
_NOT_AFTER_DIGITS = r"(?<!\d)(?<!\d[-+./])"


_NOT_BEFORE_DIGITS = r"(?!\d)(?![-+./]\d)"


# YYMMDD-NNNN, YYMMDD+NNNN (100 years or older), YYMMDDNNNN, YYYYMMDDNNNN and
# YYYYMMDD-NNNN (Skatteverket, folkbokföringslagen (1991:481) 18 §), and as
# people also write them: a space or a typographic dash for the hyphen
# ("YYMMDD NNNN", "YYMMDD–NNNN"), and the date itself split by spaces, dots or
# hyphens ("YY MM DD-NNNN", "YY.MM.DD-NNNN", "YYYY-MM-DD-NNNN"), where the
# serial then needs its dash: "2026-03-14 1430" is a date and a time.
_DASHES = "\u2010-\u2015\u2212"  # hyphen, figure/en/em dash, minus sign


_SE_ID = re.compile(
    _NOT_AFTER_DIGITS
    + r"(?:(?P<century>\d{2})?(?P<date>\d{6})(?P<sep> ?[-+" + _DASHES + r"] ?| ?)"
    + r"|(?P<century2>\d{2})?(?P<yy>\d{2})(?P<dsep>[ .\-])(?P<mm>\d{2})(?P=dsep)(?P<dd>\d{2})"
    + r" ?(?P<sep2>[-+" + _DASHES + r"]) ?)"
    + r"(?P<serial>\d{4})"
    + _NOT_BEFORE_DIGITS
)


# DDMMYY IIIKK, written with a space or hyphen or none (Skatteetaten), and as
# people also write it: the date with dots or spaces ("DD.MM.YY IIIKK") and the
# individual number apart from the control digits ("DDMMYY III KK").
_NO_ID = re.compile(
    _NOT_AFTER_DIGITS
    + r"(?:(?P<date>\d{6})|(?P<dd>\d{2})(?P<dsep>[ .])(?P<mm>\d{2})(?P=dsep)(?P<yy>\d{2}))"
    + r"[ -" + _DASHES + r"]?(?P<individual>\d{3}) ?(?P<control>\d{2})"
    + _NOT_BEFORE_DIGITS
)


# A Swedish mobile number written without separators ("0701234567") has the
# shape of a ten-digit personnummer; read it as the phone number it almost
# always is (find_phone_numbers reports it).
_SE_MOBILE_COMPACT = re.compile(r"07[02369]\d{7}")


_NO_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)


_NO_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    """Luhn over the ten-digit form: weights 2,1,2,1... from the left."""
    total = 0
    for position, digit in enumerate(digits):
        product = int(digit) * (2 - position % 2)
        total += product - 9 if product > 9 else product
    return total % 10 == 0


def _se_kind(match: re.Match[str]) -> IdentityKind | None:
    if match.group("date") is not None:
        century, date6, sep, serial = match.group("century", "date", "sep", "serial")
    else:
        century, sep, serial = match.group("century2", "sep2", "serial")
        date6 = "".join(match.group("yy", "mm", "dd"))
    sep = sep.strip()
    sep = sep if sep in {"", "+"} else "-"
    ten = date6 + serial
    if century and sep == "+":
        return None
    if not century and not sep and _SE_MOBILE_COMPACT.fullmatch(ten):
        return None
    if not _luhn(ten):
        return None
    yy, month, day = int(date6[:2]), int(date6[2:4]), int(date6[4:])
    kind = IdentityKind.SE_PERSONNUMMER
    if day > 60:  # samordningsnummer: the day of birth plus 60
        kind, day = IdentityKind.SE_SAMORDNINGSNUMMER, day - 60
    if century:
        years = [int(century) * 100 + yy] if century in {"18", "19", "20"} else []
    elif sep == "+":
        years = [1800 + yy, 1900 + yy]
    else:
        # Without a clock the century of a ten-digit number is unknown: accept
        # the date if it exists in either plausible century (29 Feb included).
        years = [1900 + yy, 2000 + yy]
    return kind if any(_is_date(year, month, day) for year in years) else None


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    remainder = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    if remainder == 11:
        return 0
    return None if remainder == 10 else remainder


def _no_birth_year(yy: int, individual: int) -> int | None:
    """The century from the individual number (Skatteetaten's ranges)."""
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:  # 500–999
        return 2000 + yy
    if individual >= 900:  # and yy >= 40
        return 1900 + yy
    return None  # 500–749 with yy 40–53, 750–899 with yy 40–99: never issued


def _no_kind(match: re.Match[str]) -> IdentityKind | None:
    date6 = match.group("date") or "".join(match.group("dd", "mm", "yy"))
    digits = date6 + match.group("individual") + match.group("control")
    if _mod11(digits[:9], _NO_WEIGHTS_1) != int(digits[9]):
        return None
    if _mod11(digits[:10], _NO_WEIGHTS_2) != int(digits[10]):
        return None
    day, month, yy, individual = (
        int(digits[0:2]),
        int(digits[2:4]),
        int(digits[4:6]),
        int(digits[6:9]),
    )
    kind = IdentityKind.NO_FODSELSNUMMER
    if day > 40:  # D-nummer: the first digit plus 4
        kind, day = IdentityKind.NO_D_NUMMER, day - 40
    year = _no_birth_year(yy, individual)
    return kind if year is not None and _is_date(year, month, day) else None


def find_identity_numbers(text: str) -> list[IdentityNumberMatch]:
    """Swedish personnummer and samordningsnummer, Norwegian fødselsnummer and
    D-nummer whose date and check digits are valid (R-31).

    A number of the right shape fails here unless it is a real date (day + 60
    for samordningsnummer, day + 40 for D-nummer) and its check digits hold:
    Luhn over the ten-digit Swedish form; both mod-11 digits for Norway, whose
    individual number must also fall in a range issued for that birth year.
    H-numbers, FH-numbers and synthetic test numbers (month + 40 or + 80) are
    not recognised, nor the gender-neutral Norwegian numbers planned for 2032.
    """
    found = [
        IdentityNumberMatch(kind=kind, span=match.span())
        for pattern, classify in ((_SE_ID, _se_kind), (_NO_ID, _no_kind))
        for match in pattern.finditer(text)
        if (kind := classify(match)) is not None
    ]
    return sorted(found, key=lambda m: m.span)


class PhoneMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    country: Country
    mobile: bool
    span: Span

    @property
    def description(self) -> str:
        country = "Swedish" if self.country == Country.SE else "Norwegian"
        return f"{country} {'mobile' if self.mobile else 'phone'} number"


_EMAIL = re.compile(
    r"(?<![\w.+%-])[\w+%-](?:[\w.+%-]*[\w+%-])?"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w-])"
)


# As people write an address to keep it from harvesters: "anna(at)kommun.se",
# "anna [at] kommun [dot] se", "anna (snabel-a) kommun (punkt) se",
# "ola(krøllalfa)kommune.no"; and "anna at kommun dot se" when a spelled-out
# dot makes the spelled-out "at" unmistakable.
_AT_WORDS = r"at|snabel-?a|krøllalfa|alfakrøll|a"


_DOT_WORDS = r"dot|punkt|prick"


_BRACKETED_AT = r"\s*[(\[{<]\s*(?:" + _AT_WORDS + r")\s*[)\]}>]\s*"


_BRACKETED_DOT = r"\s*[(\[{<]\s*(?:" + _DOT_WORDS + r")\s*[)\]}>]\s*"


_LOCAL = r"(?<![\w.+%-])[\w+%-](?:[\w.+%-]*[\w+%-])?"


_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"


_TLD = r"[^\W\d_]{2,}(?![\w-])"


_EMAIL_WRITTEN = re.compile(
    "|".join([
        # a bracketed at, with real or bracketed dots
        _LOCAL + _BRACKETED_AT + r"(?:" + _LABEL + r"(?:\.|" + _BRACKETED_DOT + r"))+" + _TLD,
        # a real @, with bracketed dots
        _LOCAL + r"@(?:" + _LABEL + r"(?:\.|" + _BRACKETED_DOT + r"))*" + _LABEL
        + _BRACKETED_DOT + r"(?:" + _LABEL + r"(?:\.|" + _BRACKETED_DOT + r"))*" + _TLD,
        # the words alone: " at " and at least one " dot "
        _LOCAL + r"\s+(?:at|snabel-a)\s+(?:" + _LABEL + r"\s+(?:" + _DOT_WORDS + r")\s+)+"
        + r"(?:se|no|nu|com|net|org|eu|dk|fi)\b",
    ]),
    re.IGNORECASE,
)


def find_emails(text: str) -> list[Span]:
    """E-mail addresses, also as people write them to hide them from
    harvesters ("(at)", "[at]", "(punkt)")."""
    spans = [match.span() for match in _EMAIL.finditer(text)]
    for match in _EMAIL_WRITTEN.finditer(text):
        if not overlaps(match.span(), spans):
            spans.append(match.span())
    return sorted(spans)


_PHONE_START = r"(?<![\w+])"


_PHONE_END = r"(?!\w)"


# +46 / 0046 / +47 / 0047, an optional "(0)", then the national number.
_PHONE_INTERNATIONAL = re.compile(
    _PHONE_START
    + r"(?:\+|00) ?(?P<cc>46|47)[ -]?(?:\(0\)[ -]?)?(?P<rest>[1-9](?:[ -]?\d){5,9})"
    + _PHONE_END
)


# Swedish mobiles: 070, 072, 073, 076, 079 and seven digits.
_SE_MOBILE = re.compile(_PHONE_START + r"(?P<rest>07[02369](?:[ \-/]?\d){7})" + _PHONE_END)


# Swedish landlines: an area code, then a hyphen or slash ("08-123 45 67") or
# the usual spaced grouping ("031 123 45 67"). Unseparated national numbers
# other than mobiles are too easily order numbers to flag.
_SE_LANDLINE = re.compile(
    _PHONE_START
    + r"(?P<rest>0[1-689]\d{0,2}(?: ?[-/] ?\d(?:[ -]?\d){4,7}| \d{2,3}(?: \d{2}){1,2}))"
    + _PHONE_END
)


# Norwegian mobiles: eight digits starting with 4 or 9. Landlines (2, 3, 5, 6,
# 7) are only recognised with +47: eight bare digits are too often other numbers.
_NO_MOBILE = re.compile(_PHONE_START + r"(?P<rest>[49]\d(?:[ -]?\d){6})" + _PHONE_END)


_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")


_CURRENCY_AFTER = re.compile(r"\s*(?:kr\b|kr\.|kronor|kroner|nok\b|sek\b|:-|,-|€|\$|euro)", re.I)


_CURRENCY_BEFORE = re.compile(r"(?:\bkr\.?|\bnok|\bsek|€|\$)\s*$", re.I)


def _looks_like_amount(text: str, start: int, end: int, number: str) -> bool:
    """A sum, not a phone: "45 000 000 kr", "NOK 9 500 000", groups of three."""
    if _CURRENCY_AFTER.match(text, end) or _CURRENCY_BEFORE.search(text, 0, start):
        return True
    groups = number.split(" ")
    return len(groups) >= 3 and all(len(group) == 3 for group in groups[1:])


def _phone_candidates(text: str) -> Iterable[PhoneMatch]:
    for match in _PHONE_INTERNATIONAL.finditer(text):
        digits = re.sub(r"\D", "", match.group("rest"))
        if match.group("cc") == "46" and 7 <= len(digits) <= 9:
            mobile = len(digits) == 9 and _SE_MOBILE_COMPACT.fullmatch("0" + digits) is not None
            yield PhoneMatch(country=Country.SE, mobile=mobile, span=match.span())
        elif match.group("cc") == "47" and len(digits) == 8:
            yield PhoneMatch(country=Country.NO, mobile=digits[0] in "49", span=match.span())
    national = (
        (_SE_MOBILE, Country.SE, True),
        (_SE_LANDLINE, Country.SE, False),
        (_NO_MOBILE, Country.NO, True),
    )
    for pattern, country, mobile in national:
        for match in pattern.finditer(text):
            number = match.group("rest")
            if _DATE_LIKE.fullmatch(number) or _looks_like_amount(text, *match.span(), number):
                continue
            if not mobile and not 7 <= len(re.sub(r"\D", "", number)) <= 10:
                continue
            yield PhoneMatch(country=country, mobile=mobile, span=match.span())


def overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def find_phone_numbers(text: str) -> list[PhoneMatch]:
    """Swedish and Norwegian phone numbers. Identity numbers, e-mail addresses,
    dates, years and sums of money are not phone numbers."""
    taken = [m.span for m in find_identity_numbers(text)] + find_emails(text)
    found: list[PhoneMatch] = []
    # Earliest first, the longest of those starting together: "+47 412 34 567"
    # is one international number, not also a national one inside it.
    for candidate in sorted(_phone_candidates(text), key=lambda m: (m.span[0], -m.span[1])):
        if not overlaps(candidate.span, taken):
            found.append(candidate)
            taken.append(candidate.span)
    return found
