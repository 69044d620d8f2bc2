"""R-27: saved replies. "Felaktigheter rättas; kommunen svarar men debatterar
inte; i politiska frågor hänvisas till kommundirektörens förslag"
("Henvis til kommunedirektørens innstilling i saker", Kristiansand).

A municipality's saved replies are kept by its communications unit, an
account's by its admins; each is in Swedish or Norwegian (bokmål). The case
page offers the account's own, then the municipality's, then the official
recommendation that every municipality has: political questions are
referred to the chief executive's recommendation (kommundirektörens förslag,
kommunedirektørens innstilling) and the decision of the elected members."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.core import NotAuthorised
from domain.text import CleanStrings

ReplyLanguage = Literal["sv", "nb"]
Scope = Literal["municipality", "account"]

OFFICIAL_ID = "official-political"


class NewSavedReply(CleanStrings):
    """What a person writes to save a reply."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    language: ReplyLanguage
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)


class SavedReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    municipality_id: str
    account_id: str | None = None  # None: the municipality's
    language: ReplyLanguage
    title: str
    text: str
    official: bool = False  # the built-in recommendation on political questions
    created_by: str | None = None
    created_at: datetime | None = None

    @property
    def scope(self) -> Scope:
        return "municipality" if self.account_id is None else "account"


_OFFICIAL: dict[ReplyLanguage, tuple[str, str]] = {
    "sv": ("Politisk fråga: hänvisa till kommundirektörens förslag",
           "Tack för din fråga. Det här är en politisk fråga som de förtroendevalda "
           "beslutar om, och vi som arbetar i kommunen deltar inte i debatten. "
           "Kommundirektörens förslag i ärendet finns här: [länk till förslaget]. "
           "Dina synpunkter kan du lämna till de förtroendevalda: [länk]."),
    "nb": ("Politisk sak: henvis til kommunedirektørens innstilling",
           "Takk for spørsmålet. Dette er en politisk sak som de folkevalgte avgjør, "
           "og vi som jobber i kommunen deltar ikke i debatten. Kommunedirektørens "
           "innstilling i saken finner du her: [lenke til innstillingen]. "
           "Innspill kan du gi til de folkevalgte: [lenke]."),
}


def official_recommendation(municipality_id: str, language: ReplyLanguage) -> SavedReply:
    """R-27: the official recommendation on political questions, in `language`."""
    title, text = _OFFICIAL[language]
    return SavedReply(id=f"{OFFICIAL_ID}-{language}", municipality_id=municipality_id,
                      language=language, title=title, text=text, official=True)


def offered(municipality_id: str, language: ReplyLanguage, account_replies: list[SavedReply],
            municipality_replies: list[SavedReply]) -> list[SavedReply]:
    """R-27: what the case page offers, in the account's language: the
    account's own, the municipality's, then the official recommendation."""
    return ([r for r in account_replies if r.language == language]
            + [r for r in municipality_replies if r.language == language]
            + [official_recommendation(municipality_id, language)])


def require_may_keep(scope: Scope, who: str, *, communications: frozenset[str],
                     admins: frozenset[str] = frozenset()) -> None:
    """R-27: the communications unit keeps the municipality's saved replies;
    an account's admins keep the account's (so may the communications unit)."""
    if who in communications:
        return
    if scope == "account" and who in admins:
        return
    raise NotAuthorised(
        f"{who} may not change these saved replies: "
        + ("the communications unit keeps the municipality's" if scope == "municipality"
           else "the account's admins and the communications unit keep the account's"),
        key=f"saved_reply.who_{scope}")
