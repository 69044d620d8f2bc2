"""The rules' refusals and the screening flags' descriptions in Swedish,
Norwegian bokmål and English (issue 4: the intranet in the reader's language).

The domain refuses in English (`DomainError.message`, for logs and the JSON
API) and names each refusal a page can show with a stable `key` and `params`
(domain.account.DomainError, domain.crisis.CrisisError); a refusal made of
several reasons (the sign-off checklist) carries keyed `parts`. The workflow
carries key, params and parts in its ApplicationError's details, and
web.app._send puts them beside the message in the HTTPException's detail.
A page shows `refusal_text` / `error_text` / `detail_text`: the catalog's
text for the key (`rule.<key>`) in the reader's language, with stage params
translated by the stage catalogs, or the English message when the refusal
has no key or the catalog does not know it.

Screening flags: `flagdetail.<kind>` and, for an identity number whose kind
the flag carries (domain.screening.Flag.identity), `flagdetail.identity.<kind>`
on the case page and `flagname.<kind>` in the inbox's flag list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from texts import CatalogText
from web import i18n
from web.i18n import Translate

# The keys are those raised in domain/ (their texts are `rule.<key>` in the
# catalogs, texts/locale/) and WEB_KEYS (refusals of the web layer itself).
# a correction names both the error and its source (web.messages_api.RespondBody).
WEB_KEYS = frozenset({"case.ended", "correction.error_needed", "correction.source_needed"})


# Params that name a stage, and the catalog prefix that names them.
_STAGE_PARAMS = {"stage": "stage.", "message_stage": "mstage."}


def has_text(key: str | None) -> bool:
    return bool(key) and i18n.has_text(f"rule.{key}")


def refusal_text(t: Translate, key: str | None, params: Mapping[str, Any] | None,
                 parts: Iterable[Mapping[str, Any]], message: str) -> str:
    """The refusal in the reader's language, or `message` (English) when
    its key is unknown (or a param the text needs is missing): Kanalvakt's
    own words too, so marked as a catalog text is (its rule ids go behind
    "Varför?" on a page)."""
    if not has_text(key):
        return CatalogText(message)
    values: dict[str, str] = {}
    for name, value in (params or {}).items():
        text = str(value)
        prefix = _STAGE_PARAMS.get(name)
        if prefix is not None:
            translated = t(prefix + text)
            text = text if translated == prefix + text else translated
        values[name] = text
    values["parts"] = "; ".join(
        refusal_text(t, part.get("key"), part.get("params"), (), str(part.get("text", "")))
        for part in parts)
    try:
        return t(f"rule.{key}", **values)
    except (KeyError, IndexError, ValueError):
        return CatalogText(message)


def error_text(t: Translate, error: Any) -> str:
    """A domain refusal (DomainError or CrisisError) in the reader's language."""
    parts = [{"key": p.key, "params": p.params, "text": p.text}
             for p in getattr(error, "parts", ())]
    return refusal_text(t, getattr(error, "key", None), getattr(error, "params", None), parts,
                        str(getattr(error, "message", error)))


def detail_text(t: Translate, detail: Any) -> str:
    """An HTTPException's detail from web.app._send (a dict with the English
    message and, when the rule named it, key, params and parts) as text."""
    if isinstance(detail, Mapping):
        return refusal_text(t, detail.get("key"), detail.get("params"),
                            detail.get("parts") or (), str(detail.get("message", "")))
    return str(detail)


def flag_text(t: Translate, kind: str, identity: str | None) -> str:
    """A screening flag's description: by its identity number's kind when the
    flag names it (domain.screening.Flag.identity), else by its kind."""
    return t(f"flagdetail.identity.{identity}") if identity else t(f"flagdetail.{kind}")
