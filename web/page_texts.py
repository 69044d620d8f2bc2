"""The web layer's own refusals (not found, another municipality's, not your
role), keyed, in Swedish, Norwegian bokmål and English (their texts are
`page.<key>` in the catalogs, texts/locale/).

    from web.page_texts import Refused
    raise Refused(404, "no_account", "no such account")
    raise Refused(403, "crisis_readers", f"{who} is neither in crisis ...", name=who)

A `Refused` is an HTTPException: the JSON API answers with its English
`detail` as before (the API keeps English; its `key` is `page.<key>` for
those who want it), and the intranet's error page (web/pages.py) shows
`page.<key>` with the params in the reader's language. The texts' params
must be those the raise sites pass (tests/e2e/test_reader_language.py
checks each text's placeholders against the raise sites).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException

from adapters.connectors import manual
from web import i18n
from web.i18n import Translate


class Refused(HTTPException):
    """An HTTPException whose English detail has a text of its own in every
    language: `page.<key>`, filled with `params`."""

    def __init__(self, status_code: int, key: str, message: str, **params: Any) -> None:
        super().__init__(status_code, detail=message)
        self.key = key
        self.params = {name: str(value) for name, value in params.items()}

    def text(self, t: Translate) -> str:
        try:
            return t(f"page.{self.key}", **self.params)
        except (KeyError, IndexError, ValueError):
            return str(self.detail)


class KeyedText(str):
    """A message (English, for the JSON API) with a text of its own in every
    language, `page.<key>` filled with `params`: for a form field's problem
    that the API and a page share (e.g. an officer not in the directory)."""

    key: str
    params: dict[str, str]

    def __new__(cls, key: str, message: str, **params: Any) -> KeyedText:
        made = super().__new__(cls, message)
        made.key = key
        made.params = {name: str(value) for name, value in params.items()}
        return made

    def text(self, t: Translate) -> str:
        try:
            return t(f"page.{self.key}", **self.params)
        except (KeyError, IndexError, ValueError):
            return str(self)


def page_text(t: Translate, message: str) -> str:
    """`message` in the reader's language when it is a KeyedText."""
    return message.text(t) if isinstance(message, KeyedText) else message


def instruction_text(t: Translate, key: str | None, params: Mapping[str, str] | None,
                     text: str | None, shown: Mapping[str, str] | None = None) -> str:
    """A manual platform action's instruction in the reader's language: by
    its key and params (the manual connector's, recorded on the case, with
    `shown`: what the page adds for a person, manual.page_params), or the
    stored text of a record from before the keys."""
    if key and manual.known(key):
        try:
            return manual.render_instruction(t, key, {**(params or {}), **(shown or {})})
        except (KeyError, IndexError, ValueError):
            pass
    return text or ""


def findable_params(params: Mapping[str, str], *, handle: str | None, author: str | None,
                    text: str | None, link: str | None) -> dict[str, str]:
    """manual.page_params: the handle, author, quote and link a page adds."""
    return manual.page_params(params, handle=handle, author=author, text=text, link=link)


def invalid_text(t: Translate, error: Mapping[str, Any]) -> str:
    """A form field's validation error that a page has no text of its own
    for (one item of pydantic's `errors()`): the rule's text when the error
    names a rule (web.rule_texts, `rule.<type>`), else a general one in the
    reader's language; pydantic's English message is never shown."""
    kind = str(error.get("type", ""))
    if i18n.has_text(f"rule.{kind}"):
        return t(f"rule.{kind}")
    if kind in {"enum", "literal_error"}:
        return t("page.err.choose")
    return t("page.err.invalid")
