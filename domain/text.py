"""Free text as it can be recorded and shown.

PostgreSQL's text and jsonb refuse the NUL character, and a lone UTF-16
surrogate (``\\ud800``, which JSON can carry) cannot be encoded as UTF-8 at
all: either one in a decision's reason or a citizen's comment would make the
record unwritable. Such text is normalised where it enters the domain, so
what a command or message accepts can always be put on the record. Other
characters people really write (right-to-left marks, zero-width joiners in
emoji, tabs and line breaks) are kept as they are.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, field_validator

# C0 controls except tab, line feed and carriage return, and DEL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value: str) -> str:
    """`value` without control characters (tab and line breaks kept) and
    with each lone surrogate replaced by U+FFFD, the replacement character."""
    value = _CONTROLS.sub("", value)
    return _LONE_SURROGATE.sub(REPLACEMENT, value)


def unrecordable(value: str) -> str | None:
    """Why `value` cannot be stored as it is, or None: for the edges that
    refuse such input instead of normalising it."""
    if "\x00" in value:
        return "contains a NUL character"
    if _LONE_SURROGATE.search(value):
        return "contains a lone surrogate (invalid Unicode)"
    return None


def _clean_if_text(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


# Cleaned before validation too, so no constraint of the field ever sees the
# raw text. (pydantic's own JSON parser refuses a lone surrogate escape
# outright; the webhook replaces them before parsing, web/webhooks.py.)
CleanText = Annotated[str, BeforeValidator(_clean_if_text), AfterValidator(clean_text)]


def clean_strings(value: object) -> object:
    """`clean_text` applied to a string, or to each string in a list, tuple,
    set or dict (keys and values); anything else as it is."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(clean_strings(v) for v in value)
    if isinstance(value, dict):
        return {clean_strings(k): clean_strings(v) for k, v in value.items()}
    return value


class CleanStrings(BaseModel):
    """A model whose every string field (and the strings in its lists, sets,
    dicts and nested models given as dicts) is normalised by `clean_text`
    before it is validated (issue 9): what a command accepts can be put on
    the record, and a text of nothing but control characters is as empty as
    it looks (refused where the field needs a text)."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_strings(value)
