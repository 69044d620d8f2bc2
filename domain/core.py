"""What more than one aggregate shares: the refusal family every decide raises
(DomainError and its kinds, whose `code` becomes the ApplicationError type),
the platforms, the field shapes of commands, and the deadline step every
deadline plan is made of.

Nothing here imports another domain module, so every aggregate (account,
message, crisis, snapshot) can stand on it without an import loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The actor of what the system itself decides: timers that fire, a platform
# connector that reports a post.
SYSTEM = "kanalvakt"


@dataclass(frozen=True)
class Reason:
    """One keyed reason of a refusal: `key` names its text in the intranet's
    catalogs (web/rule_texts.py), `text` is the English, `params` fill both."""

    key: str
    text: str
    params: Mapping[str, str] = field(default_factory=dict)


class Platform(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    X = "x"
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"


# How each platform spells its own name (a page shows these, never the
# enum's value capitalised: "Linkedin", "Youtube", "Tiktok").
PLATFORM_NAMES: dict[str, str] = {
    Platform.FACEBOOK: "Facebook", Platform.INSTAGRAM: "Instagram",
    Platform.LINKEDIN: "LinkedIn", Platform.X: "X", Platform.YOUTUBE: "YouTube",
    Platform.TIKTOK: "TikTok",
}


def platform_name(platform: str | Platform) -> str:
    """The platform's own spelling ("LinkedIn", "YouTube", "TikTok"); an
    unknown value as it is."""
    value = str(platform.value if isinstance(platform, Platform) else platform)
    return PLATFORM_NAMES.get(value, value)


# --------------------------------------------------------------------------- field shapes

PersonId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


def _known_zone(name: str) -> str:
    # An unknown zone would fail every later deadline computation inside the
    # workflow, where a non-domain error retries the task forever.
    try:
        ZoneInfo(name)  # cached by zoneinfo after the first load
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
HttpsUrl = Annotated[str, Field(pattern=r"^https://\S+$", max_length=500)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]

# --------------------------------------------------------------------------- errors


class DomainError(Exception):
    """A command the rules refuse. `code` becomes the ApplicationError type.

    `message` is the English text (logs, the JSON API). `key` (with `params`)
    names the refusal stably so the intranet can show it in the reader's
    language (web/rule_texts.py); `parts` are the keyed reasons of a refusal
    made of several (the sign-off checklist's gaps). Without a key a page
    shows `message`."""

    code = "DomainError"

    def __init__(self, message: str, *, key: str | None = None,
                 params: Mapping[str, str] | None = None,
                 parts: Sequence[Reason] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.params: dict[str, str] = dict(params or {})
        self.parts: tuple[Reason, ...] = tuple(parts)

    def details(self) -> dict[str, Any]:
        """The key, params and parts as plain JSON (an ApplicationError's details)."""
        return {"key": self.key, "params": self.params,
                "parts": [{"key": p.key, "params": dict(p.params), "text": p.text}
                          for p in self.parts]}


class NotAuthorised(DomainError):
    code = "NotAuthorised"


class WrongStage(DomainError):
    code = "WrongStage"


class RuleViolation(DomainError):
    code = "RuleViolation"


# --------------------------------------------------------------------------- state


class DeadlineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    kind: Literal["remind", "escalate", "lapse", "warn", "propose", "propose_breach"]
    due: datetime
    recipients: tuple[str, ...]
    subject: str | None = None  # monitoring: the day, week, anchor or watch item
