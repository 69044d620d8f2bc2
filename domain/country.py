"""The countries whose rules Kanalvakt knows (holidays, laws)."""

from enum import StrEnum


class Country(StrEnum):
    SE = "SE"
    NO = "NO"


# Where a record names no country or time zone (rows written before they
# were recorded), Kanalvakt counts as in Sweden, its first country.
DEFAULT_COUNTRY = Country.SE
DEFAULT_TIMEZONE = "Europe/Stockholm"
