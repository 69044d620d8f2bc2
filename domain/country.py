"""The countries whose rules Kanalvakt knows (holidays, laws)."""

from enum import StrEnum


class Country(StrEnum):
    SE = "SE"
    NO = "NO"
