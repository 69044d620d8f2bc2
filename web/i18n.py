"""The intranet's language: which one a reader gets, and its texts.

The texts are gettext catalogs (texts/locale/<lang>/LC_MESSAGES/kanalvakt.po,
read by the `texts` package); `translator(lang)` gives the `t` that pages
and templates call (`{{ t("nav.tasks") }}`, `{{ t.n("register.caption",
count) }}` for a count, `{name}` placeholders filled from keyword arguments).
The templates also have Jinja2's i18n extension with the same catalogs
(`_()`, `gettext()`, `ngettext()`; web/rendering.py). A key missing in nb or
en falls back to the Swedish text; a key missing everywhere shows itself.

Language choice (`choose_language`): the `kv_lang` cookie the language switch
sets, else the signed-in person's municipality (a Norwegian municipality's
people get bokmål), else the browser's Accept-Language, else Swedish. One
code for Norwegian bokmål, `nb`; `no` and `nn` on input read as `nb`.

To add a text: add its key to the three .po files (README, "Adding a text").
"""

from __future__ import annotations

import texts
from texts import DEFAULT, LANGUAGES, Texts

__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "LANGUAGE_NAMES", "Translate", "choose_language",
           "from_accept_language", "has_text", "translator"]

LANGUAGE_NAMES = {"sv": "Svenska", "nb": "Norsk (bokmål)", "en": "English"}
COOKIE = "kv_lang"

Translate = Texts


def translator(lang: str) -> Translate:
    return texts.for_language(texts.language(lang) or DEFAULT)


def has_text(key: str) -> bool:
    """Whether the catalogs have the key (a text for a key built at run time)."""
    return texts.for_language(DEFAULT).has(key)


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an Accept-Language header (no, nn and nb
    all read as bokmål; sv-FI as Swedish)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = texts.language(tag)
        if lang is not None and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def choose_language(cookie: str | None, country: str | None, accept: str | None) -> str:
    chosen = texts.language(cookie)  # a cookie set before `nb` said `no`
    if chosen is not None:
        return chosen
    if country == "NO":
        return "nb"
    if country == "SE":
        return "sv"
    return from_accept_language(accept) or DEFAULT
